//! Small statistics for benches and campaign reports.

/// The `p` quantile (0..=1) of `sorted` (ascending) by the nearest rank on `(n-1)·p`; `None`
/// for an empty sample.
pub fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * p.clamp(0.0, 1.0)).round() as usize;
    Some(sorted[i])
}

/// min, median, p90, max of a sample (any order).
pub fn summary(sample: &[f64]) -> Option<[f64; 4]> {
    let mut s: Vec<f64> = sample.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    Some([
        quantile(&s, 0.0)?,
        quantile(&s, 0.5)?,
        quantile(&s, 0.9)?,
        quantile(&s, 1.0)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(summary(&s), Some([1.0, 6.0, 9.0, 10.0]));
        assert_eq!(summary(&[2.8]), Some([2.8; 4]));
        assert_eq!(summary(&[]), None);
        assert_eq!(summary(&[3.0, 1.0, 2.0]), Some([1.0, 2.0, 3.0, 3.0]));
    }
}
