//! CPU capabilities as values.
//!
//! A SIMD kernel compiled for instructions the CPU lacks is undefined
//! behaviour, so the right to call one is carried by a token that only
//! feature detection can make: code that holds an [`Avx2`] knows the CPU
//! has the instructions, and code that does not hold one cannot reach the
//! kernels. This replaces `bool` flags, which any caller could set wrongly.

/// Proof that this CPU runs AVX2, BMI1 and BMI2 (and so AVX and FMA-free
/// 256-bit integer and float code). Made only by [`Avx2::detect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avx2 {
    _private: (),
}

impl Avx2 {
    /// The token when the CPU has AVX2, BMI1 and BMI2; `None` otherwise
    /// (always `None` off x86-64). Detection is cached by the standard
    /// library, so calling this per image or per row is cheap.
    #[inline]
    pub fn detect() -> Option<Avx2> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("bmi1")
                && std::arch::is_x86_feature_detected!("bmi2")
            {
                return Some(Avx2 { _private: () });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_agrees_with_the_standard_library() {
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            Avx2::detect().is_some(),
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("bmi1")
                && std::arch::is_x86_feature_detected!("bmi2")
        );
        #[cfg(not(target_arch = "x86_64"))]
        assert!(Avx2::detect().is_none());
    }
}
