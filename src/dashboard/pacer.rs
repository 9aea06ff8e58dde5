//! How many lines a page is sent live: at most so many a second, the rest counted and told
//! as dropped once the second is over (the log files keep every line; the page reads them
//! back on demand). A flood then costs the browser a bounded amount of work per second.

use std::time::{Duration, Instant};

/// Lines a page is sent per second, all services together.
pub(crate) const LINES_PER_SECOND: u32 = 500;

const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct Pacer {
    per_window: u32,
    window_start: Instant,
    sent: u32,
    dropped: u64,
    /// When the first of the `dropped` lines was dropped: they are told a window later.
    dropped_since: Option<Instant>,
}

impl Pacer {
    pub(crate) fn new(per_second: u32, now: Instant) -> Self {
        Self { per_window: per_second, window_start: now, sent: 0, dropped: 0, dropped_since: None }
    }

    /// Whether a line may go out now; one that may not is counted as dropped.
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        self.roll(now);
        if self.sent < self.per_window {
            self.sent += 1;
            true
        } else {
            self.lost_at(1, now);
            false
        }
    }

    /// Lines lost on the way, not by this pacer (the supervisor's queue, a full channel).
    pub(crate) fn lost_at(&mut self, lines: u64, now: Instant) {
        if lines > 0 {
            self.dropped += lines;
            self.dropped_since.get_or_insert(now);
        }
    }

    /// The lines dropped so far, told a second after the first of them (so a flood is told
    /// once a second, not once a line); None while there is nothing to tell yet.
    pub(crate) fn take_dropped(&mut self, now: Instant) -> Option<u64> {
        let due = self.next_tell().is_some_and(|at| now >= at);
        due.then(|| {
            self.dropped_since = None;
            std::mem::take(&mut self.dropped)
        })
    }

    /// When [`Pacer::take_dropped`] will next have something to tell.
    pub(crate) fn next_tell(&self) -> Option<Instant> {
        self.dropped_since.map(|since| since + WINDOW)
    }

    fn roll(&mut self, now: Instant) {
        if now.duration_since(self.window_start) >= WINDOW {
            self.window_start = now;
            self.sent = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_cap_are_dropped_and_told_once_the_second_is_over() {
        let start = Instant::now();
        let mut pacer = Pacer::new(3, start);
        let admitted = (0..10).filter(|_| pacer.admit(start)).count();
        assert_eq!(admitted, 3);
        assert_eq!(pacer.take_dropped(start + Duration::from_millis(500)), None, "not within the flood's second");
        assert_eq!(pacer.next_tell(), Some(start + WINDOW));
        // The flood goes on into the next second: what it dropped in the first is told.
        assert!(pacer.admit(start + WINDOW), "a new second has room again");
        assert_eq!(pacer.take_dropped(start + WINDOW), Some(7));
        assert_eq!(pacer.take_dropped(start + WINDOW), None, "told once");
    }

    #[test]
    fn lines_lost_elsewhere_are_told_too() {
        let start = Instant::now();
        let mut pacer = Pacer::new(3, start);
        pacer.lost_at(40, start);
        pacer.lost_at(2, start + Duration::from_millis(900));
        assert_eq!(pacer.take_dropped(start + Duration::from_millis(999)), None);
        assert_eq!(pacer.take_dropped(start + WINDOW), Some(42));
        assert_eq!(pacer.next_tell(), None);
    }

    #[test]
    fn nothing_lost_is_nothing_to_tell() {
        let start = Instant::now();
        let mut pacer = Pacer::new(3, start);
        pacer.lost_at(0, start);
        assert_eq!(pacer.next_tell(), None);
        assert_eq!(pacer.take_dropped(start + WINDOW), None);
    }
}
