//! Image intake on real photos (fetched by `fetch-test-images`) and on
//! malformed files: every supported format decodes, EXIF orientation is
//! honoured, large photos are scaled down, and bad input is refused with a
//! reason; a mutation fuzzer proves no input panics.

use std::io::Cursor;
use std::path::PathBuf;

use image::{DynamicImage, ImageFormat, RgbImage};
use switchboard_images::{load, prepare, ImageError, ImageLimits};

fn photo(name: &str) -> PathBuf {
    let path = switchboard_models::test_images_dir().join(name);
    assert!(path.exists(), "sample photo missing at {}: run `fetch-test-images` first", path.display());
    path
}

fn limits() -> ImageLimits {
    ImageLimits::default()
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

#[test]
fn real_photos_decode_to_upright_rgb() {
    for (name, w, h, format) in [
        ("astronaut.png", 512, 512, "PNG"),
        ("chelsea.png", 451, 300, "PNG"),
        ("coffee.png", 600, 400, "PNG"),
        ("rocket.jpg", 640, 427, "JPEG"),
        ("text.png", 448, 172, "PNG"),
    ] {
        let img = load(&photo(name), &limits()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((img.width, img.height, img.format), (w, h, format), "{name}");
        assert_eq!(img.rgb.len(), (w * h * 3) as usize, "{name}: RGB, 3 bytes per pixel (grey text.png too)");
        assert_eq!(img.sha256.len(), 64);
    }
}

#[test]
fn every_supported_format_decodes_and_a_gif_gives_its_first_frame() {
    let cat = image::open(photo("chelsea.png")).unwrap();
    for format in
        [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP, ImageFormat::Bmp, ImageFormat::Tiff, ImageFormat::Gif]
    {
        let source = if format == ImageFormat::Jpeg { DynamicImage::ImageRgb8(cat.to_rgb8()) } else { cat.clone() };
        let bytes = encode(&source, format);
        let img = prepare(&bytes, &limits()).unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!((img.width, img.height), (451, 300), "{format:?}");
    }
    // An animated GIF: two frames, red then blue; the first one is used.
    let mut gif = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut gif);
        for color in [[255u8, 0, 0, 255], [0, 0, 255, 255]] {
            let frame = image::RgbaImage::from_pixel(8, 8, image::Rgba(color));
            enc.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    let first = prepare(&gif, &limits()).unwrap();
    assert_eq!(&first.rgb[..3], &[255, 0, 0], "the first frame");
}

/// A JPEG of `w`x`h` with an EXIF APP1 segment carrying `orientation`.
fn jpeg_with_orientation(w: u32, h: u32, orientation: u16) -> Vec<u8> {
    let mut img = RgbImage::new(w, h);
    img.put_pixel(0, 0, image::Rgb([255, 255, 255]));
    let plain = encode(&DynamicImage::ImageRgb8(img), ImageFormat::Jpeg);
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

#[test]
fn exif_orientation_is_applied() {
    let upright = prepare(&jpeg_with_orientation(40, 20, 1), &limits()).unwrap();
    assert_eq!((upright.width, upright.height), (40, 20));
    let rotated = prepare(&jpeg_with_orientation(40, 20, 6), &limits()).unwrap();
    assert_eq!((rotated.width, rotated.height), (20, 40), "orientation 6: rotated 90 degrees clockwise");
    assert_eq!((rotated.original_width, rotated.original_height), (40, 20));
}

#[test]
fn a_twelve_megapixel_photo_is_scaled_down_to_what_a_model_uses() {
    let big = image::open(photo("coffee.png")).unwrap().resize_exact(4000, 3000, image::imageops::FilterType::Triangle);
    let jpeg = encode(&DynamicImage::ImageRgb8(big.to_rgb8()), ImageFormat::Jpeg);
    let img = prepare(&jpeg, &limits()).unwrap();
    assert_eq!((img.original_width, img.original_height), (4000, 3000));
    assert_eq!((img.width, img.height), (1536, 1152));
    let thumb = image::load_from_memory(&img.thumbnail_png(160)).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (160, 120));
}

/// A PNG header (signature + IHDR) claiming `w`x`h`, with a tiny IDAT.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc_input);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn bad_files_are_refused_with_the_reason() {
    let png = std::fs::read(photo("chelsea.png")).unwrap();
    let jpeg = std::fs::read(photo("rocket.jpg")).unwrap();
    let cases: Vec<(&str, Vec<u8>, fn(&ImageError) -> bool)> = vec![
        ("zero bytes", vec![], |e| *e == ImageError::Empty),
        ("a PDF renamed .png", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj".to_vec(), |e| {
            e.to_string().contains("a PDF document")
        }),
        ("plain text", b"hello, this is not a picture".to_vec(), |e| {
            matches!(e, ImageError::NotAnImage { looks_like: None })
        }),
        ("HEIC", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(), |e| e.to_string().contains("HEIC")),
        ("SVG", b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(), |e| {
            e.to_string().contains("SVG")
        }),
        ("truncated PNG", png[..png.len() / 3].to_vec(), |e| matches!(e, ImageError::Corrupt { .. })),
        ("truncated JPEG header", jpeg[..200].to_vec(), |e| matches!(e, ImageError::Corrupt { .. })),
        ("a decompression bomb", png_claiming(100_000, 100_000), |e| {
            matches!(e, ImageError::TooManyPixels { width: 100_000, height: 100_000, .. })
                && e.to_string().contains("64000000 pixels")
        }),
        (
            "an ICO (readable elsewhere, not here)",
            {
                let mut ico = vec![0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0];
                ico.extend_from_slice(&[0u8; 64]);
                ico
            },
            |e| matches!(e, ImageError::Unsupported { .. } | ImageError::NotAnImage { .. }),
        ),
    ];
    for (what, bytes, expected) in cases {
        let err = prepare(&bytes, &limits()).unwrap_err();
        assert!(expected(&err), "{what}: got '{err}'");
        assert!(!err.to_string().is_empty());
    }
    let small = ImageLimits { max_file_bytes: 1000, ..limits() };
    assert!(matches!(prepare(&png, &small).unwrap_err(), ImageError::FileTooLarge { limit: 1000, .. }));
    let err = load(&switchboard_models::test_images_dir(), &limits()).unwrap_err();
    assert!(err.to_string().contains("folder"), "{err}");
    assert!(matches!(
        load(&PathBuf::from("/nonexistent/x.png"), &limits()).unwrap_err(),
        ImageError::Unreadable { .. }
    ));
}

/// Seeded mutations (truncation, flipped bytes, overwritten runs, duplicated
/// slices) of every sample and format: decoding may refuse, never panic.
#[test]
fn mutated_images_never_panic() {
    let cat = image::open(photo("chelsea.png")).unwrap().resize(64, 48, image::imageops::FilterType::Triangle);
    let mut seeds: Vec<Vec<u8>> =
        [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP, ImageFormat::Gif, ImageFormat::Bmp, ImageFormat::Tiff]
            .iter()
            .map(|f| encode(&DynamicImage::ImageRgb8(cat.to_rgb8()), *f))
            .collect();
    seeds.push(std::fs::read(photo("rocket.jpg")).unwrap());
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut rand = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    let small = ImageLimits { max_pixels: 4_000_000, max_decode_bytes: 64 << 20, ..limits() };
    let (mut ok, mut refused) = (0, 0);
    for round in 0..1500 {
        let mut bytes = seeds[round % seeds.len()].clone();
        match rand(4) {
            0 => bytes.truncate(rand(bytes.len())),
            1 => {
                for _ in 0..1 + rand(8) {
                    let i = rand(bytes.len());
                    bytes[i] ^= 1 << rand(8);
                }
            }
            2 => {
                let at = rand(bytes.len());
                let len = rand(32).min(bytes.len() - at);
                let v = rand(256) as u8;
                bytes[at..at + len].fill(v);
            }
            _ => {
                let at = rand(bytes.len());
                let end = (at + rand(256)).min(bytes.len());
                let slice = bytes[at..end].to_vec();
                let to = rand(bytes.len());
                bytes.splice(to..to, slice);
            }
        }
        match std::panic::catch_unwind(|| prepare(&bytes, &small)) {
            Ok(Ok(img)) => {
                assert_eq!(img.rgb.len(), (img.width * img.height * 3) as usize);
                ok += 1;
            }
            Ok(Err(e)) => {
                assert!(!e.to_string().is_empty());
                refused += 1;
            }
            Err(_) => panic!("round {round}: decoding panicked"),
        }
    }
    assert!(ok > 0 && refused > 0, "both outcomes seen ({ok} decoded, {refused} refused)");
}
