//! A child's pipe → its log: lines cut as [`LineSplitter`] cuts them, each stamped with the
//! time of the read, written a chunk at a time.
//!
//! A pump holds no buffer while it waits: it waits for the pipe to be readable, then borrows
//! the thread's read and record buffers for one read and its write. A supervisor of a thousand
//! quiet services so holds two buffers, not two thousand (64 KiB each, which became resident
//! as soon as a pipe filled one once).

use std::cell::RefCell;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tokio::net::unix::pipe::Receiver;

use super::record::{Stream, push_record, record_prefix};
use super::writer::{Episode, LineSplitter, LogWriter};

/// How much of a pipe is read at once.
const CHUNK: usize = 64 * 1024;

/// The records of one chunk; a burst of long lines may grow it, and it is shrunk back after.
const RECORDS: usize = 2 * CHUNK;

/// The buffers one read uses, borrowed from the thread for that read only.
struct Buffers {
    chunk: Vec<u8>,
    records: Vec<u8>,
}

thread_local! {
    /// The thread's buffers while no pump uses them (the supervisor's runtime has one thread).
    static SPARE: RefCell<Option<Buffers>> = const { RefCell::new(None) };
}

/// Runs `f` with the thread's buffers, or new ones when they are in use (they never are on one
/// thread, as `f` does not wait; a test's runtime may have more).
fn with_buffers<T>(f: impl FnOnce(&mut Buffers) -> T) -> T {
    let mut buffers = SPARE
        .with(|spare| spare.borrow_mut().take())
        .unwrap_or_else(|| Buffers { chunk: vec![0; CHUNK], records: Vec::with_capacity(RECORDS) });
    let result = f(&mut buffers);
    SPARE.with(|spare| *spare.borrow_mut() = Some(buffers));
    result
}

/// Reads a child's pipe until EOF without ever blocking the child for long: reads chunks of
/// 64 KiB, formats every complete line as a record stamped with the time of the read, and
/// writes each chunk's records with one [`LogWriter::write_or_drop`]. `on_line` is called for
/// every line (cut as by [`LineSplitter`]), `on_episode` when writes begin or stop failing.
///
/// A failing write (a full disk) does not stop the pump: it goes on draining the pipe, so the
/// child never blocks on it, counts what it drops, and tries again with the next chunk. A read
/// error returns at once.
pub(crate) async fn pump(
    pipe: Receiver,
    stream: Stream,
    writer: Arc<Mutex<LogWriter>>,
    mut on_line: impl FnMut(&[u8]),
    mut on_episode: impl FnMut(Episode),
) -> io::Result<()> {
    let mut splitter = LineSplitter::new();
    loop {
        pipe.readable().await?;
        let read = with_buffers(|buffers| {
            let n = match pipe.try_read(&mut buffers.chunk) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            let Buffers { chunk, records } = buffers;
            let prefix = record_prefix(SystemTime::now(), stream);
            let mut add = |line: &[u8]| {
                push_record(records, &prefix, line);
                on_line(line);
            };
            if n == 0 {
                splitter.finish(&mut add);
            } else {
                splitter.push(&chunk[..n], &mut add);
            }
            if let Some(episode) = write_locked(&writer, records) {
                on_episode(episode);
            }
            records.clear();
            // Give up the memory a burst of long lines may have taken.
            records.shrink_to(RECORDS);
            Ok(Some(n))
        })?;
        if read == Some(0) {
            return Ok(());
        }
    }
}

/// Writes under the lock shared by a service's stdout and stderr pumps. A panic in the other
/// pump poisons the lock, but the writer's state stays usable, so it is taken anyway.
fn write_locked(writer: &Mutex<LogWriter>, records: &[u8]) -> Option<Episode> {
    if records.is_empty() {
        return None;
    }
    let mut writer = writer.lock().unwrap_or_else(PoisonError::into_inner);
    writer.write_or_drop(records)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use tokio::io::AsyncWriteExt;
    use tokio::net::unix::pipe;

    use super::*;
    use crate::logs::Record;
    use crate::manifest::{ByteSize, LogConfig};
    use crate::safe_fs::private;

    fn writer(dir: &std::path::Path) -> Arc<Mutex<LogWriter>> {
        let config = LogConfig { max_size: ByteSize(1 << 30), keep: 2 };
        Arc::new(Mutex::new(LogWriter::open(private(dir), "web", config).unwrap()))
    }

    fn stored(dir: &std::path::Path) -> Vec<Record> {
        let text = fs::read(dir.join("web.log")).unwrap();
        text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| Record::parse("web", l).unwrap()).collect()
    }

    #[tokio::test]
    async fn pump_stores_100k_lines_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut child, pipe) = pipe::pipe().unwrap();
        let feeder = tokio::spawn(async move {
            let mut text = Vec::new();
            for i in 0..100_000 {
                text.extend_from_slice(format!("line {i}\n").as_bytes());
            }
            // Odd-sized writes so lines straddle reads.
            for part in text.chunks(10_007) {
                child.write_all(part).await.unwrap();
            }
            child.write_all(b"no newline").await.unwrap();
        });
        let mut seen = 0;
        pump(pipe, Stream::Err, writer(tmp.path()), |_| seen += 1, |_| {}).await.unwrap();
        feeder.await.unwrap();
        assert_eq!(seen, 100_001);
        let records = stored(tmp.path());
        assert_eq!(records.len(), 100_001);
        for (i, record) in records[..100_000].iter().enumerate() {
            assert_eq!(record.line, format!("line {i}").as_bytes());
            assert_eq!(record.stream, Stream::Err);
        }
        assert_eq!(records[100_000].line, b"no newline");
        assert!(records.windows(2).all(|w| w[0].time <= w[1].time));
    }

    #[tokio::test]
    async fn pump_reads_a_real_pipe() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut tx, rx) = pipe::pipe().unwrap();
        tx.write_all(b"one\r\ntwo\n").await.unwrap();
        drop(tx);
        let mut lines = Vec::new();
        pump(rx, Stream::Out, writer(tmp.path()), |l| lines.push(l.to_vec()), |_| {}).await.unwrap();
        assert_eq!(lines, [b"one\r".to_vec(), b"two".to_vec()]);
        let lines_stored: Vec<Vec<u8>> = stored(tmp.path()).into_iter().map(|r| r.line).collect();
        assert_eq!(lines_stored, lines);
    }

    #[tokio::test]
    async fn many_pumps_write_one_log_each_line_once() {
        let tmp = tempfile::tempdir().unwrap();
        let log = writer(tmp.path());
        let mut senders = Vec::new();
        let mut pumps = Vec::new();
        for _ in 0..50 {
            let (tx, rx) = pipe::pipe().unwrap();
            senders.push(tx);
            pumps.push(tokio::spawn(pump(rx, Stream::Out, log.clone(), |_| {}, |_| {})));
        }
        for (i, tx) in senders.iter_mut().enumerate() {
            tx.write_all(format!("from {i}\n").as_bytes()).await.unwrap();
        }
        drop(senders);
        for task in pumps {
            task.await.unwrap().unwrap();
        }
        let mut lines: Vec<String> = stored(tmp.path()).iter().map(|r| r.text().into_owned()).collect();
        lines.sort();
        let mut expected: Vec<String> = (0..50).map(|i| format!("from {i}")).collect();
        expected.sort();
        assert_eq!(lines, expected);
    }
}
