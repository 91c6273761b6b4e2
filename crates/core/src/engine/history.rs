//! Bounded histories of counts over time, as a campaign's burn-down and a policy's history
//! keep them: a new point at most every `interval` (a newer count within it replaces the
//! newest point, the first one stays: it is where the history starts), nothing recorded
//! while the counts stay the same, and once there are more than `max` points the inner point
//! whose neighbours are closest together goes, so the whole span stays visible.

use jiff::{SignedDuration, Timestamp};

/// A point of a history: when it was taken, and whether it counts the same as another.
pub trait Point: Clone {
    /// When the point was taken.
    fn time(&self) -> Timestamp;
    /// Whether `other` holds the same counts, whatever its time.
    fn counts_as(&self, other: &Self) -> bool;
}

/// `previous` with `point` recorded.
pub fn record<P: Point>(previous: &[P], point: P, interval: SignedDuration, max: usize) -> Vec<P> {
    let mut points = previous.to_vec();
    match points.last() {
        Some(last) if last.counts_as(&point) => return points,
        Some(last) if points.len() > 1 && point.time().duration_since(last.time()) < interval => {
            let newest = points.len() - 1;
            points[newest] = point;
        }
        _ => points.push(point),
    }
    while points.len() > max.max(2) {
        let drop = (1..points.len() - 1)
            .min_by_key(|&i| points[i + 1].time().duration_since(points[i - 1].time()))
            .unwrap_or(1);
        points.remove(drop);
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Count(Timestamp, u32);

    impl Point for Count {
        fn time(&self) -> Timestamp {
            self.0
        }
        fn counts_as(&self, other: &Self) -> bool {
            self.1 == other.1
        }
    }

    fn at(hours: i64) -> Timestamp {
        "2026-12-01T00:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_hours(hours)
    }

    const HOUR: SignedDuration = SignedDuration::from_hours(1);

    #[test]
    fn the_same_counts_add_nothing_and_a_change_within_the_interval_replaces_the_newest_point() {
        let one = record(&[], Count(at(0), 5), HOUR, 10);
        assert_eq!(record(&one, Count(at(3), 5), HOUR, 10), one);
        let two = record(&one, Count(at(0) + SignedDuration::from_mins(10), 4), HOUR, 10);
        assert_eq!(two.len(), 2, "the first point stays: it is where the history starts");
        let still_two = record(&two, Count(at(0) + SignedDuration::from_mins(20), 3), HOUR, 10);
        assert_eq!(still_two, vec![Count(at(0), 5), Count(at(0) + SignedDuration::from_mins(20), 3)]);
        assert_eq!(record(&still_two, Count(at(2), 2), HOUR, 10).len(), 3);
    }

    #[test]
    fn a_full_history_thins_its_inner_points_and_keeps_both_ends() {
        let mut points = Vec::new();
        for hour in 0..500 {
            points = record(&points, Count(at(hour), hour as u32), HOUR, 100);
            assert!(points.len() <= 100);
        }
        assert_eq!(points.first(), Some(&Count(at(0), 0)));
        assert_eq!(points.last(), Some(&Count(at(499), 499)));
        let gaps: Vec<i64> = points.windows(2).map(|w| w[1].0.duration_since(w[0].0).as_hours()).collect();
        assert!(gaps.iter().all(|gap| *gap <= 8), "no stretch of the history is lost: {gaps:?}");
    }
}
