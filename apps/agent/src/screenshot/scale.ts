import type { RgbImage } from './png.js';

/**
 * Scales an RGB image down to at most `maxWidth` pixels wide, keeping the aspect ratio, by
 * averaging the source pixels each destination pixel covers (sharp text stays legible, no
 * aliasing). An image already narrow enough is returned as is.
 */
export function scaleDown(image: RgbImage, maxWidth: number): RgbImage {
  if (image.width <= maxWidth) return image;
  const width = maxWidth;
  const height = Math.max(1, Math.round((image.height * maxWidth) / image.width));
  const rgb = Buffer.alloc(width * height * 3);
  const xRatio = image.width / width;
  const yRatio = image.height / height;
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor(y * yRatio);
    const y1 = Math.max(y0 + 1, Math.floor((y + 1) * yRatio));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor(x * xRatio);
      const x1 = Math.max(x0 + 1, Math.floor((x + 1) * xRatio));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = y0; sy < y1; sy++) {
        let i = (sy * image.width + x0) * 3;
        for (let sx = x0; sx < x1; sx++, i += 3) {
          r += image.rgb[i]!;
          g += image.rgb[i + 1]!;
          b += image.rgb[i + 2]!;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (y * width + x) * 3;
      rgb[o] = Math.round(r / n);
      rgb[o + 1] = Math.round(g / n);
      rgb[o + 2] = Math.round(b / n);
    }
  }
  return { width, height, rgb };
}
