//! JPEG decoding with libjpeg-turbo's own decoder (feature `libjpeg-turbo`).
//!
//! The decoder is the libjpeg-turbo code vendored in `mozjpeg-sys` (MozJPEG
//! changes only the encoder), compiled from C by the `cc` crate without its
//! SIMD assembly, so no nasm and no system library is needed. It is used with
//! Pillow's settings — `JDCT_ISLOW`, fancy upsampling, block smoothing and
//! everything else left at the library defaults, output `JCS_RGB` for colour,
//! `JCS_GRAYSCALE` for one component, `JCS_CMYK` for CMYK and YCCK — so the
//! pixels are bit-identical to what `PIL.Image.open(f).convert("RGB")` gives
//! (libjpeg-turbo's SIMD code is bit-exact with its C code for these paths).
//!
//! Errors never leave as panics: libjpeg's `error_exit` unwinds (the C is
//! built with `-fexceptions`, the callbacks are `extern "C-unwind"`) with a
//! private payload carrying the [`MediaError`], which is caught here; the
//! decompressor is destroyed on every path.

use crate::jpeg::JpegPixels;
use crate::{DecodeOptions, Layout, MediaError};
use mozjpeg_sys as ffi;
use std::os::raw::{c_int, c_long, c_ulong};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// Most scans a progressive file may have. Real encoders write about ten;
/// thousands of tiny scans are a known way to make libjpeg spin (TurboJPEG's
/// `TJPARAM_SCANLIMIT` guidance uses the same bound).
const MAX_SCANS: c_int = 500;

/// Unwinding payload raised from libjpeg's callbacks.
struct LibjpegError(MediaError);

/// libjpeg's message for the error or warning in `cinfo.err`.
///
/// # Safety
/// `cinfo.err` is null or points to a live `jpeg_error_mgr` set up by
/// `jpeg_std_error` (whose `format_message` writes at most
/// `JMSG_LENGTH_MAX` = 200 bytes), as in every `cinfo` libjpeg hands to our
/// callbacks.
unsafe fn message(cinfo: &mut ffi::jpeg_common_struct) -> String {
    let err = cinfo.err;
    if err.is_null() {
        return "libjpeg error".into();
    }
    // SAFETY: `err` is non-null and points to a live error manager (this
    // function's contract).
    let (code, format) = unsafe { ((*err).msg_code, (*err).format_message) };
    let Some(format) = format else {
        return format!("libjpeg error {code}");
    };
    // The binding declares the buffer `&[u8; 80]`, but libjpeg writes into
    // it; call it through the true C signature.
    type FormatMessage = unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, *mut u8);
    // SAFETY: both are pointers to the same C function; only the buffer
    // parameter's Rust type differs (`&[u8; 80]` against the C `char *`),
    // and the two have the same ABI.
    let format: FormatMessage = unsafe { std::mem::transmute(format) };
    // JMSG_LENGTH_MAX in jerror.h.
    let mut buf = [0u8; 200];
    // SAFETY: `format_message` writes a NUL-terminated message of at most
    // JMSG_LENGTH_MAX (200) bytes into `buf`, which holds 200, and reads
    // only `cinfo` and its error manager, live per the contract.
    unsafe { format(cinfo, buf.as_mut_ptr()) };
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// Replaces libjpeg's `exit()`: unwinds back to [`decode`].
///
/// # Safety
/// Called by libjpeg only, with a `cinfo` whose `err` is the live error
/// manager that [`Decompressor::new`] installed.
unsafe extern "C-unwind" fn error_exit(cinfo: &mut ffi::jpeg_common_struct) {
    // SAFETY: libjpeg calls this only through `cinfo.err`, which points to
    // the error manager owned by our `Decompressor` (never null here).
    let code = unsafe { (*cinfo.err).msg_code };
    // SAFETY: as above, `cinfo.err` is that live, `jpeg_std_error`-filled
    // manager.
    let text = unsafe { message(cinfo) };
    let error = if code == ffi::JERR_INPUT_EOF || code == ffi::JERR_INPUT_EMPTY {
        MediaError::Truncated(text)
    } else if code == ffi::JERR_OUT_OF_MEMORY || code == ffi::JERR_NO_BACKING_STORE {
        MediaError::Unsupported(format!("over the decoder memory limit ({text})"))
    } else {
        MediaError::Corrupt(text)
    };
    // `resume_unwind`, not `panic!`: no panic hook runs, nothing is printed.
    resume_unwind(Box::new(LibjpegError(error)))
}

/// Warnings (`msg_level == -1`) are ignored as Pillow ignores them, except
/// premature end of data, which libjpeg would paper over with grey.
///
/// # Safety
/// Called by libjpeg only, with a `cinfo` whose `err` is the live error
/// manager that [`Decompressor::new`] installed.
unsafe extern "C-unwind" fn emit_message(cinfo: &mut ffi::jpeg_common_struct, msg_level: c_int) {
    if msg_level >= 0 {
        return; // trace messages
    }
    // SAFETY: `cinfo.err` points to the error manager our `Decompressor`
    // owns (separately boxed, so not aliased by `cinfo`); libjpeg is not
    // touching it while it runs this callback.
    let err = unsafe { &mut *cinfo.err };
    err.num_warnings += 1;
    if err.msg_code == ffi::JWRN_JPEG_EOF {
        // SAFETY: as above, `cinfo.err` is that live manager.
        let text = unsafe { message(cinfo) };
        resume_unwind(Box::new(LibjpegError(MediaError::Truncated(text))))
    }
}

/// Never print anything to stderr.
///
/// # Safety
/// None needed (it does nothing); `unsafe` only to match libjpeg's
/// callback type.
unsafe extern "C-unwind" fn output_message(_cinfo: &mut ffi::jpeg_common_struct) {}

/// Refuses files with an absurd number of progressive scans.
///
/// # Safety
/// Called by libjpeg only, with the `common` part of a live
/// `jpeg_decompress_struct` or `jpeg_compress_struct`.
unsafe extern "C-unwind" fn progress_monitor(cinfo: &mut ffi::jpeg_common_struct) {
    if cinfo.is_decompressor == 0 {
        return;
    }
    // SAFETY: `is_decompressor` is set, so `cinfo` is the first field
    // (`common`, at offset 0 of the `#[repr(C)]` struct) of a live
    // `jpeg_decompress_struct`; we only read it.
    let dinfo =
        unsafe { &*(cinfo as *mut ffi::jpeg_common_struct as *const ffi::jpeg_decompress_struct) };
    if dinfo.input_scan_number > MAX_SCANS {
        let error =
            MediaError::Corrupt(format!("progressive JPEG has more than {MAX_SCANS} scans"));
        resume_unwind(Box::new(LibjpegError(error)))
    }
}

/// libjpeg's state, boxed so its addresses stay put; destroyed on drop.
struct Decompressor {
    cinfo: Box<ffi::jpeg_decompress_struct>,
    // Referenced by pointer from `cinfo`; must outlive it.
    _err: Box<ffi::jpeg_error_mgr>,
    _progress: Box<ffi::jpeg_progress_mgr>,
}

impl Decompressor {
    fn new() -> Self {
        // SAFETY: all-zero is a valid "not yet created" state for these C
        // structs (null pointers, `None` callbacks, zero numbers); libjpeg
        // itself starts from `memset(0)`.
        let mut err: Box<ffi::jpeg_error_mgr> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: as above, all-zero is the "not yet set up" state.
        let mut progress: Box<ffi::jpeg_progress_mgr> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: as above; `jpeg_create_decompress` later fills it in.
        let mut cinfo: Box<ffi::jpeg_decompress_struct> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `jpeg_std_error` only fills in the struct (no error paths).
        unsafe { ffi::jpeg_std_error(&mut err) };
        err.error_exit = Some(error_exit);
        err.emit_message = Some(emit_message);
        err.output_message = Some(output_message);
        progress.progress_monitor = Some(progress_monitor);
        cinfo.common.err = &mut *err;
        Decompressor {
            cinfo,
            _err: err,
            _progress: progress,
        }
    }
}

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: valid on a created, a failed-to-create (mem is null: a
        // no-op) or an aborted decompressor. It raises no errors; the
        // catch_unwind is belt and braces.
        let cinfo = &mut *self.cinfo;
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: see above; `cinfo` is ours and its error manager
            // (`_err`) is still alive, since fields drop after this.
            unsafe { ffi::jpeg_destroy_decompress(cinfo) }
        }));
    }
}

/// Decodes a JPEG with libjpeg-turbo. The caller has already checked the
/// header size against the limits and that the file is complete.
pub(crate) fn decode(bytes: &[u8], opts: &DecodeOptions) -> Result<JpegPixels, MediaError> {
    let mut dec = Decompressor::new();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let progress: *mut ffi::jpeg_progress_mgr = &mut *dec._progress;
        // SAFETY: `dec` owns the structs; `bytes` outlives the decompressor's
        // use of it (it is destroyed, or at least never read again, before
        // this function returns).
        unsafe { run(&mut dec.cinfo, progress, bytes, opts) }
    }));
    let out = match result {
        Ok(r) => r,
        Err(payload) => Err(match payload.downcast::<LibjpegError>() {
            Ok(e) => e.0,
            Err(other) => MediaError::DecoderCrashed(
                other
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| other.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "libjpeg-turbo failed".into()),
            ),
        }),
    };
    drop(dec);
    out
}

/// Runs one decode of `bytes` on a fresh decompressor.
///
/// # Safety
/// `cinfo` is zeroed apart from `common.err`, which points to a live error
/// manager filled by `jpeg_std_error` with our callbacks (as
/// [`Decompressor::new`] makes it); `progress` points to a live progress
/// manager; both, and `bytes`, outlive every later use of `cinfo`. The call
/// must be inside `catch_unwind`, since libjpeg errors unwind out of it.
unsafe fn run(
    cinfo: &mut ffi::jpeg_decompress_struct,
    progress: *mut ffi::jpeg_progress_mgr,
    bytes: &[u8],
    opts: &DecodeOptions,
) -> Result<JpegPixels, MediaError> {
    // SAFETY: `cinfo` is a zeroed struct with its error manager set (this
    // function's contract), which is what creation expects; failures unwind
    // through `error_exit` to the caller's `catch_unwind`.
    unsafe { ffi::jpeg_create_decompress(cinfo) };
    cinfo.common.progress = progress;
    // Bounds the whole-image coefficient buffers of progressive and
    // multi-scan files (jmemnobs has no backing store: over it is an error).
    let max_alloc = opts.limits.max_alloc.min(c_long::MAX as u64) as c_long;
    // SAFETY: `jpeg_create_decompress` succeeded (it unwinds otherwise), so
    // `mem` points to libjpeg's live memory manager.
    unsafe { (*cinfo.common.mem).max_memory_to_use = max_alloc };
    let len = c_ulong::try_from(bytes.len())
        .map_err(|_| MediaError::Unsupported("file too large for libjpeg".into()))?;
    // SAFETY: `cinfo` is created; `bytes` is `len` bytes long and outlives
    // every read of the source (this function's contract).
    unsafe { ffi::jpeg_mem_src(cinfo, bytes.as_ptr(), len) };

    // 1 = JPEG_HEADER_OK (2 would be a tables-only stream).
    // SAFETY: `cinfo` is created with a source; errors unwind to the
    // caller's `catch_unwind`.
    if unsafe { ffi::jpeg_read_header(cinfo, 1) } != 1 {
        return Err(MediaError::Corrupt("no image in the JPEG stream".into()));
    }
    let (w, h) = (cinfo.image_width, cinfo.image_height);
    opts.limits.check(w, h)?;

    let (out_space, layout) = match cinfo.num_components {
        1 => (ffi::J_COLOR_SPACE::JCS_GRAYSCALE, Layout::Grey8),
        3 => (ffi::J_COLOR_SPACE::JCS_RGB, Layout::Rgb8),
        4 => (ffi::J_COLOR_SPACE::JCS_CMYK, Layout::Rgb8),
        n => {
            return Err(MediaError::Unsupported(format!(
                "JPEG with {n} colour components"
            )))
        }
    };
    cinfo.out_color_space = out_space;
    cinfo.dct_method = ffi::J_DCT_METHOD::JDCT_ISLOW;
    cinfo.do_fancy_upsampling = 1;
    if opts.fast {
        cinfo.scale_num = 1;
        cinfo.scale_denom = crate::jpeg::fast_denom(w, h);
    }
    // SAFETY: called after a successful `jpeg_read_header`, as libjpeg
    // requires.
    unsafe { ffi::jpeg_calc_output_dimensions(cinfo) };
    let (ow, oh) = (cinfo.output_width, cinfo.output_height);
    let comps = cinfo.output_components;
    let expected_comps = if out_space == ffi::J_COLOR_SPACE::JCS_CMYK {
        4
    } else if layout == Layout::Grey8 {
        1
    } else {
        3
    };
    if comps != expected_comps || ow == 0 || oh == 0 || ow > w || oh > h {
        return Err(MediaError::Corrupt(format!(
            "libjpeg output {ow}×{oh}×{comps} for a {w}×{h} image"
        )));
    }
    let stride = ow as usize * comps as usize;
    let size = stride as u64 * oh as u64;
    if size > opts.limits.max_alloc {
        return Err(MediaError::Unsupported(format!(
            "over the decoder memory limit ({size} bytes of pixels)"
        )));
    }
    let mut pixels: Vec<u8> = Vec::new();
    pixels
        .try_reserve_exact(size as usize)
        .map_err(|_| MediaError::Unsupported(format!("cannot allocate {size} bytes")))?;
    pixels.resize(size as usize, 0);

    // For progressive files this reads the whole input.
    // SAFETY: the header was read and the output parameters set; errors
    // unwind to the caller's `catch_unwind`.
    unsafe { ffi::jpeg_start_decompress(cinfo) };
    if cinfo.output_width != ow || cinfo.output_height != oh || cinfo.output_components != comps {
        return Err(MediaError::Corrupt(
            "libjpeg changed the output size".into(),
        ));
    }
    let base = pixels.as_mut_ptr();
    // `wrapping_add` computes the addresses without an unsafe contract; each
    // is inside `pixels`, which holds `oh` rows of `stride` bytes.
    let mut rows: Vec<*mut u8> = (0..oh as usize)
        .map(|y| base.wrapping_add(y * stride))
        .collect();
    while cinfo.output_scanline < oh {
        let at = cinfo.output_scanline as usize;
        // SAFETY: `rows[at..]` holds `oh - at` pointers, each to a row of
        // `stride` = output_width * output_components bytes inside
        // `pixels` (checked above to be what libjpeg writes per row), and
        // libjpeg writes at most `oh - at` rows.
        let got =
            unsafe { ffi::jpeg_read_scanlines(cinfo, rows[at..].as_mut_ptr(), oh - at as u32) };
        if got == 0 {
            // Only a suspending source returns 0; the memory source never
            // suspends, so this is a libjpeg bug, not a file problem.
            return Err(MediaError::Truncated(
                "libjpeg returned no scanlines".into(),
            ));
        }
    }
    drop(rows);
    // SAFETY: every scanline was read; errors unwind to the caller's
    // `catch_unwind`.
    unsafe { ffi::jpeg_finish_decompress(cinfo) };

    let pixels = if out_space == ffi::J_COLOR_SPACE::JCS_CMYK {
        cmyk_to_rgb(&pixels)
    } else {
        pixels
    };
    Ok(JpegPixels {
        pixels,
        width: ow,
        height: oh,
        layout,
    })
}

/// CMYK as libjpeg returns it to the RGB picture, the same arithmetic as
/// `jpeg::cmyk_to_rgb` and Pillow's `CMYK;I` + `convert("RGB")`: Pillow
/// (like jpeg-decoder) always reads 4-component JPEG data with Adobe
/// polarity, i.e. libjpeg's samples are `255 - ink`, whether or not the
/// file has an Adobe APP14 marker (Photoshop, which writes nearly all CMYK
/// JPEGs, stores them inverted). So `R = (255 - C)(255 - K) / 255` with
/// `C = 255 - c`, `K = 255 - k`, i.e. `R = c·k / 255`, rounded.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let k = px[3] as u32;
        for &c in &px[..3] {
            out.push(((c as u32 * k + 127) / 255) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let opts = DecodeOptions::default();
        assert!(decode(b"\xff\xd8\xff\xe0garbage", &opts).is_err());
        assert!(decode(b"", &opts).is_err());
        assert!(decode(&[0xFF, 0xD8, 0xFF, 0xDB, 0, 3, 0xFF, 0xD9], &opts).is_err());
    }

    fn encode(w: u32, h: u32) -> Vec<u8> {
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode(&rgb, w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    #[test]
    fn decodes_and_scales() {
        let jpeg = encode(4096, 2200);
        let full = decode(&jpeg, &DecodeOptions::default()).unwrap();
        assert_eq!(
            (full.width, full.height, full.layout),
            (4096, 2200, Layout::Rgb8)
        );
        assert_eq!(full.pixels.len(), 4096 * 2200 * 3);
        let opts = DecodeOptions {
            fast: true,
            ..Default::default()
        };
        let fast = decode(&jpeg, &opts).unwrap();
        // 1/4 scale: the short side stays at least 512 (1/8 would give 275).
        assert_eq!((fast.width, fast.height), (1024, 550));
    }

    #[test]
    fn truncation_and_limits_are_errors() {
        let jpeg = encode(300, 200);
        let cut = &jpeg[..jpeg.len() / 2];
        assert!(matches!(
            decode(cut, &DecodeOptions::default()),
            Err(MediaError::Truncated(_))
        ));
        let mut opts = DecodeOptions::default();
        opts.limits.max_pixels = 1000;
        assert!(matches!(
            decode(&jpeg, &opts),
            Err(MediaError::TooLarge { .. })
        ));
    }

    #[test]
    fn cmyk_matches_pillow_arithmetic() {
        // Pillow: nk = 255 - K; R = nk - MULDIV255(C, nk), C = 255 - c, K = 255 - k.
        for c in 0..=255u32 {
            for k in (0..=255u32).step_by(7) {
                let (ci, ki) = (255 - c, 255 - k);
                let nk = 255 - ki;
                let t = ci * nk + 128;
                let pil = nk - (((t >> 8) + t) >> 8);
                let ours = cmyk_to_rgb(&[c as u8, 0, 0, k as u8])[0] as u32;
                assert_eq!(ours, pil, "c={c} k={k}");
            }
        }
    }
}
