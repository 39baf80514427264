//! `make-12mp SOURCE DEST.jpg`: scales SOURCE to 4000x3000 (12 megapixels)
//! and saves it as a JPEG (quality 90): the vision benchmark's test photo.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [source, dest] = args.as_slice() else {
        eprintln!("usage: make-12mp SOURCE DEST.jpg");
        std::process::exit(2);
    };
    let img = image::open(source).unwrap_or_else(|e| {
        eprintln!("make-12mp: {source}: {e}");
        std::process::exit(1);
    });
    let big = img.resize_exact(4000, 3000, image::imageops::FilterType::CatmullRom).to_rgb8();
    let mut out = std::fs::File::create(dest).unwrap_or_else(|e| {
        eprintln!("make-12mp: {dest}: {e}");
        std::process::exit(1);
    });
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(&big, 4000, 3000, image::ExtendedColorType::Rgb8)
        .expect("JPEG written");
    println!("{dest}");
}
