//! Image intake for vision requests: whatever a user drops is either turned
//! into upright RGB pixels of a size a model can use, or refused with a
//! sentence saying why (not an image, truncated, too large, a format we do not
//! read). Nothing here panics on hostile input; the limits are checked before
//! pixels are allocated.

use std::io::Cursor;
use std::path::Path;
use std::time::Instant;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use switchboard_core::{AppError, ErrorCode};

/// What an image may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest file accepted.
    pub max_file_bytes: u64,
    /// Largest picture (width x height) decoded.
    pub max_pixels: u64,
    /// Memory the decoder may allocate.
    pub max_decode_bytes: u64,
    /// Longer side after downscaling: what a vision model can use.
    pub max_side: u32,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self { max_file_bytes: 64 << 20, max_pixels: 64_000_000, max_decode_bytes: 512 << 20, max_side: 1536 }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImageError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {bytes} bytes; images up to {limit} bytes are accepted")]
    FileTooLarge { bytes: u64, limit: u64 },
    #[error("this is not an image{}", .looks_like.map(|k| format!(" (it looks like {k})")).unwrap_or_default())]
    NotAnImage { looks_like: Option<&'static str> },
    #[error("{format} images are not supported; use PNG, JPEG, WebP, GIF, BMP or TIFF")]
    Unsupported { format: String },
    #[error("the image is {width}x{height} pixels; at most {limit} pixels are decoded (a decompression bomb, or a picture to scale down first)")]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("the image is corrupt or truncated: {reason}")]
    Corrupt { reason: String },
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
}

impl From<ImageError> for AppError {
    fn from(e: ImageError) -> Self {
        AppError::new(ErrorCode::InvalidInput, e.to_string())
    }
}

/// An image ready for a vision model.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedImage {
    /// Upright RGB, row-major, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// As stored (before EXIF rotation and downscaling).
    pub original_width: u32,
    pub original_height: u32,
    /// `PNG`, `JPEG`, ...
    pub format: &'static str,
    /// sha256 of the file's bytes.
    pub sha256: String,
    pub decode_ms: f64,
    pub resize_ms: f64,
}

fn format_name(f: ImageFormat) -> Option<&'static str> {
    Some(match f {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Gif => "GIF",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Tiff => "TIFF",
        _ => return None,
    })
}

/// Why a file that is not a readable image is refused, from its first bytes.
fn sniff(bytes: &[u8]) -> ImageError {
    let head = &bytes[..bytes.len().min(64)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let brand = String::from_utf8_lossy(&head[8..12]).to_string();
        return match brand.as_str() {
            "heic" | "heix" | "hevc" | "mif1" | "msf1" | "heim" | "heis" => {
                ImageError::Unsupported { format: "HEIC/HEIF".into() }
            }
            "avif" | "avis" => ImageError::Unsupported { format: "AVIF".into() },
            _ => ImageError::NotAnImage { looks_like: Some("a video or MP4 container") },
        };
    }
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with("<svg") || (trimmed.starts_with("<?xml") && text.contains("svg")) {
        return ImageError::Unsupported { format: "SVG".into() };
    }
    ImageError::NotAnImage {
        looks_like: if head.starts_with(b"%PDF") {
            Some("a PDF document")
        } else if head.starts_with(b"PK\x03\x04") {
            Some("a ZIP archive or office document")
        } else if trimmed.starts_with("<!doctype html") || trimmed.starts_with("<html") {
            Some("a web page")
        } else if head.starts_with(b"GGUF") {
            Some("a GGUF model")
        } else if trimmed.starts_with("<?xml") {
            Some("an XML document")
        } else {
            None
        },
    }
}

/// Reads and prepares the image file at `path` (refusing oversized files before reading them).
pub fn load(path: &Path, limits: &ImageLimits) -> Result<PreparedImage, ImageError> {
    // A regular file only (/dev/zero or a pipe named by a user would never end), capped.
    let bytes = switchboard_files::read_capped(path, limits.max_file_bytes).map_err(|e| match e {
        switchboard_files::FileError::TooLarge { size, limit } => ImageError::FileTooLarge { bytes: size, limit },
        other => ImageError::Unreadable { path: path.display().to_string(), reason: other.to_string() },
    })?;
    prepare(&bytes, limits)
}

/// Decodes `bytes` (first frame of an animation), applies the EXIF
/// orientation, converts to RGB and downscales to `limits.max_side`.
pub fn prepare(bytes: &[u8], limits: &ImageLimits) -> Result<PreparedImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(ImageError::FileTooLarge { bytes: bytes.len() as u64, limit: limits.max_file_bytes });
    }
    let started = Instant::now();
    let format = match image::guess_format(bytes) {
        Ok(f) => f,
        Err(_) => return Err(sniff(bytes)),
    };
    let Some(name) = format_name(format) else {
        return Err(ImageError::Unsupported { format: format!("{format:?}").to_uppercase() });
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut lim = Limits::default();
    lim.max_alloc = Some(limits.max_decode_bytes);
    reader.limits(lim);
    let corrupt = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => ImageError::Corrupt {
            reason: format!("it needs more than {} bytes of memory to decode", limits.max_decode_bytes),
        },
        other => ImageError::Corrupt { reason: other.to_string() },
    };
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(ImageError::Corrupt { reason: "it has no pixels".into() });
    }
    if u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(ImageError::TooManyPixels { width: w, height: h, limit: limits.max_pixels });
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    img.apply_orientation(orientation);
    let decode_ms = started.elapsed().as_secs_f64() * 1000.0;

    let resized = Instant::now();
    let (iw, ih) = (img.width(), img.height());
    let longer = iw.max(ih);
    let img = if longer > limits.max_side {
        let scale = f64::from(limits.max_side) / f64::from(longer);
        let nw = ((f64::from(iw) * scale).round() as u32).max(1);
        let nh = ((f64::from(ih) * scale).round() as u32).max(1);
        img.resize_exact(nw, nh, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let rgb = img.into_rgb8();
    Ok(PreparedImage {
        width: rgb.width(),
        height: rgb.height(),
        original_width: w,
        original_height: h,
        format: name,
        sha256: hex::encode(Sha256::digest(bytes)),
        decode_ms,
        resize_ms: resized.elapsed().as_secs_f64() * 1000.0,
        rgb: rgb.into_raw(),
    })
}

impl PreparedImage {
    fn buffer(&self) -> image::RgbImage {
        image::RgbImage::from_raw(self.width, self.height, self.rgb.clone()).expect("width * height * 3 bytes")
    }

    /// A PNG no larger than `side` on its longer side, for the UI.
    pub fn thumbnail_png(&self, side: u32) -> Vec<u8> {
        let thumb = DynamicImage::ImageRgb8(self.buffer()).thumbnail(side, side);
        let mut out = Cursor::new(Vec::new());
        thumb.write_to(&mut out, ImageFormat::Png).expect("PNG encoding in memory");
        out.into_inner()
    }

    /// JPEG at quality 90, for providers that take encoded images.
    pub fn jpeg(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
        enc.encode(&self.rgb, self.width, self.height, image::ExtendedColorType::Rgb8)
            .expect("JPEG encoding in memory");
        out
    }
}
