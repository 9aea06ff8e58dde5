//! Finding the file a command names, as execvp would, but once in the supervisor: the child
//! then execs that file at once, rather than failing an exec for each folder of PATH before it.

use std::path::{Path, PathBuf};

use nix::unistd::{AccessFlags, access};

/// The executable file `name` stands for in a child with environment `env` and folder `cwd`:
/// a name with a `/` is a path (relative to `cwd`), any other is looked up along the child's
/// PATH (an empty or relative entry is relative to `cwd`, as for the child itself). None when
/// there is no such file, or no PATH to look along.
pub(crate) fn find_program(name: &str, env: &[(String, String)], cwd: &Path) -> Option<PathBuf> {
    if name.is_empty() {
        return None;
    }
    if name.contains('/') {
        return executable(cwd.join(name));
    }
    let (_, path) = env.iter().rev().find(|(key, _)| key == "PATH")?;
    path.split(':').find_map(|folder| executable(cwd.join(folder).join(name)))
}

/// The path, when it is a regular file this process may execute (as its children may).
fn executable(path: PathBuf) -> Option<PathBuf> {
    let meta = std::fs::metadata(&path).ok()?;
    (meta.is_file() && access(&path, AccessFlags::X_OK).is_ok()).then_some(path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn env(path: &str) -> Vec<(String, String)> {
        vec![("HOME".into(), "/nowhere".into()), ("PATH".into(), path.into())]
    }

    fn script(path: &Path, mode: u32) {
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn the_first_executable_file_along_path_wins() {
        let tmp = tempfile::tempdir().unwrap();
        for folder in ["a", "b", "c"] {
            std::fs::create_dir(tmp.path().join(folder)).unwrap();
        }
        script(&tmp.path().join("a/tool"), 0o644);
        std::fs::create_dir(tmp.path().join("b/tool")).unwrap();
        script(&tmp.path().join("c/tool"), 0o755);
        let path = format!("{0}/a:{0}/b:{0}/c", tmp.path().display());
        assert_eq!(find_program("tool", &env(&path), Path::new("/")), Some(tmp.path().join("c/tool")));
        assert_eq!(find_program("other", &env(&path), Path::new("/")), None);
    }

    #[test]
    fn relative_names_and_entries_are_the_childs_folder() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("bin")).unwrap();
        script(&tmp.path().join("bin/server"), 0o755);
        assert_eq!(find_program("./bin/server", &env(""), tmp.path()), Some(tmp.path().join("./bin/server")));
        assert_eq!(find_program("server", &env("bin"), tmp.path()), Some(tmp.path().join("bin/server")));
        assert_eq!(find_program("./bin/none", &env(""), tmp.path()), None);
    }

    #[test]
    fn without_a_path_only_paths_are_found() {
        assert_eq!(find_program("sh", &[], Path::new("/")), None);
        assert_eq!(find_program("/bin/sh", &[], Path::new("/")), Some(PathBuf::from("/bin/sh")));
        assert_eq!(find_program("", &env("/bin"), Path::new("/")), None);
    }
}
