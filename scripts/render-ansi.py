#!/usr/bin/env python3
"""Renders a `tmux capture-pane -e -p` capture (SGR colours, bold, reverse, dim) to a PNG for the README.
Needs Pillow and fonts-dejavu-core. Usage: render-ansi.py CAPTURE.ansi OUT.png [COLUMNS ROWS]"""
import re
import sys
import unicodedata

from PIL import Image, ImageDraw, ImageFont

PALETTE = [(40, 42, 54), (220, 80, 80), (90, 190, 100), (225, 190, 80), (90, 140, 230), (190, 110, 210), (80, 190, 200), (220, 220, 220),
           (100, 100, 110), (255, 110, 110), (120, 220, 130), (250, 220, 110), (120, 170, 250), (220, 140, 240), (110, 220, 230), (255, 255, 255)]
BG, FG = (24, 25, 33), (215, 215, 215)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"


def color(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        return tuple(55 + 40 * v if v else 0 for v in (n // 36, n // 6 % 6, n % 6))
    g = 8 + 10 * (n - 232)
    return (g, g, g)


def main():
    src, out = sys.argv[1], sys.argv[2]
    cols = int(sys.argv[3]) if len(sys.argv) > 3 else 120
    rows = int(sys.argv[4]) if len(sys.argv) > 4 else 40
    size = 16
    font, bold = ImageFont.truetype(FONT, size), ImageFont.truetype(BOLD, size)
    cw, ch = int(font.getlength("M")), size + 4
    img = Image.new("RGB", (cw * cols + 16, ch * rows + 16), BG)
    draw = ImageDraw.Draw(img)
    lines = open(src, encoding="utf-8").read().split("\n")[:rows]
    for y, line in enumerate(lines):
        fg, bg, is_bold, rev, dim, x = FG, None, False, False, False, 0
        for token in re.split(r"(\x1b\[[0-9;]*m)", line):
            if token.startswith("\x1b["):
                codes = [int(c) if c else 0 for c in token[2:-1].split(";")]
                i = 0
                while i < len(codes):
                    c = codes[i]
                    if c == 0: fg, bg, is_bold, rev, dim = FG, None, False, False, False
                    elif c == 1: is_bold = True
                    elif c == 2: dim = True
                    elif c == 7: rev = True
                    elif c == 22: is_bold = dim = False
                    elif c == 27: rev = False
                    elif 30 <= c <= 37: fg = PALETTE[c - 30]
                    elif c == 39: fg = FG
                    elif 40 <= c <= 47: bg = PALETTE[c - 40]
                    elif c == 49: bg = None
                    elif 90 <= c <= 97: fg = PALETTE[c - 90 + 8]
                    elif 100 <= c <= 107: bg = PALETTE[c - 100 + 8]
                    elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                        if c == 38: fg = color(codes[i + 2])
                        else: bg = color(codes[i + 2])
                        i += 2
                    i += 1
                continue
            for chr_ in token:
                width = 2 if unicodedata.east_asian_width(chr_) in "WF" else 1
                f, b = (bg or BG, fg) if rev else (fg, bg)
                if dim: f = tuple(v * 6 // 10 for v in f)
                px, py = 8 + x * cw, 8 + y * ch
                if b: draw.rectangle([px, py, px + cw * width, py + ch], fill=b)
                draw.text((px, py + 1), chr_, font=bold if is_bold else font, fill=f)
                x += width
    img.save(out)


if __name__ == "__main__":
    main()
