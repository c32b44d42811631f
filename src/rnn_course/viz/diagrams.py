"""The packing diagram as SVG: the padded grid above the packed data strip, one text per number.

Vector graphics stay sharp at any zoom or device pixel ratio, and a new diagram is a few dozen elements
written in well under a millisecond, where a 2x matplotlib picture took tens of milliseconds to draw and
compress. Its alt text is the SVG's accessible name (role=img).
"""

import html
import re
import zlib

COLOURS = ("#8ecae6", "#ffb703", "#90be6d", "#f4a6c1", "#cdb4db")  # one per sequence
PADDING = "#dddddd"
WIDTH, HEIGHT = 740, 330  # CSS pixels
CELL, STRIP = 34, 26  # a grid cell, a packed cell (CSS pixels)
GRID_X, GRID_Y = 130, 46  # the grid's top left corner
STRIP_Y = 232  # the packed strip's top
GAP = 14  # empty room between two time-step groups of the strip


def _text(x, y, text, css="", anchor="middle") -> str:
    css = f' class="{css}"' if css else ""
    return f'<text{css} x="{x:g}" y="{y:g}" text-anchor="{anchor}">{html.escape(str(text))}</text>'


def _box(x, y, width, height, fill, css="") -> str:
    css = f' class="{css}"' if css else ""
    return (
        f'<rect{css} x="{x:g}" y="{y:g}" width="{width:g}" height="{height:g}" fill="{fill}" '
        'stroke="#000" stroke-width="0.8"/>'
    )


class PackingDiagram:
    """Writes the diagram for one padded batch and, when packing worked, its PackedSequence data."""

    def __init__(self):
        self.svg = ""

    def draw(self, lengths, padded, data=None, batch_sizes=None, reason: str = "", alt: str = "") -> str:
        """The SVG for lengths (N,), padded (N, L_max); data, batch_sizes: lists, or None (with a reason)."""
        N, L = padded.shape
        parts = [
            _text(WIDTH / 2, 16, "padded batch (batch_first): row i is sequence i, grey cells are padding"),
        ]
        for t in range(L):
            parts.append(_text(GRID_X + t * CELL + CELL / 2, GRID_Y - 8, f"t={t}"))
        values = padded.tolist()
        for i in range(N):
            y = GRID_Y + i * CELL
            parts.append(_text(GRID_X - 8, y + CELL / 2 + 4, f"seq {i} (len {lengths[i]})", "length", "end"))
            for t in range(L):
                fill = COLOURS[i] if t < lengths[i] else PADDING
                parts.append(_box(GRID_X + t * CELL + 2, y + 2, CELL - 4, CELL - 4, fill))
                parts.append(
                    _text(GRID_X + t * CELL + CELL / 2, y + CELL / 2 + 4, f"{values[i][t]:g}", "grid")
                )
        parts.append(
            _text(WIDTH / 2, STRIP_Y - 14,
                  "PackedSequence.data: step by step, longest sequence first; under step t, batch_sizes[t]")
        )  # fmt: skip
        if data is None:
            parts.append(
                f'<rect x="{WIDTH / 2 - 250}" y="{STRIP_Y + 4}" width="500" height="40" rx="6" '
                'fill="#fdecea" stroke="#c62828"/>'
            )
            parts.append(f'<g fill="#611a15">{_text(WIDTH / 2, STRIP_Y + 29, reason)}</g>')
        else:
            owner = {10 * (i + 1) + t + 1: i for i, n in enumerate(lengths) for t in range(n)}
            groups = len(batch_sizes)
            x = (WIDTH - STRIP * len(data) - GAP * (groups - 1)) / 2  # the strip centred
            k = 0
            for t, size in enumerate(batch_sizes):  # group t holds batch_sizes[t] values
                left = x
                for _ in range(size):
                    parts.append(
                        _box(x + 1, STRIP_Y + 1, STRIP - 2, STRIP - 2, COLOURS[owner[data[k]]], "data")
                    )
                    parts.append(_text(x + STRIP / 2, STRIP_Y + STRIP / 2 + 4, data[k], "data"))
                    x, k = x + STRIP, k + 1
                parts.append(
                    f'<line x1="{left + 2:g}" x2="{x - 2:g}" y1="{STRIP_Y + STRIP + 6}" '
                    f'y2="{STRIP_Y + STRIP + 6}" stroke="#4d4d4d"/>'
                )
                middle = (left + x) / 2
                parts.append(_text(middle, STRIP_Y + STRIP + 22, f"t={t}"))
                parts.append(_text(middle, STRIP_Y + STRIP + 38, size, "batch-size"))  # two short lines
                x += GAP
        body = "".join(parts)
        self.svg = (  # data-frame names the content: the page's tests watch it change
            f'<svg class="rnn-packing-diagram" role="img" aria-label="{html.escape(alt)}" '
            f'data-frame="{zlib.crc32(body.encode()):x}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}" '
            'style="max-width: 100%; height: auto; font: 12.5px sans-serif; fill: #000">'
            f"{body}</svg>"
        )
        return self.svg

    def _texts(self, css: str) -> list[str]:
        return [html.unescape(t) for t in re.findall(rf'<text class="{css}"[^>]*>([^<]*)</text>', self.svg)]

    def drawn_data(self) -> list[int]:
        """The numbers written in the packed strip, left to right."""
        return [int(t) for t in self._texts("data")]

    def drawn_batch_sizes(self) -> list[int]:
        """The batch size written under each time-step group."""
        return [int(t) for t in self._texts("batch-size")]

    def drawn_lengths(self) -> list[int]:
        """The lengths written beside the rows of the padded grid."""
        return [int(t.split("len ")[1].rstrip(")")) for t in self._texts("length")]

    def drawn_grid(self) -> list[str]:
        """The numbers written in the padded grid, row by row."""
        return self._texts("grid")

    def data_box_starts(self) -> list[float]:
        """The left edge of each packed cell, left to right (CSS pixels)."""
        return [float(x) for x in re.findall(r'<rect class="data" x="([-0-9.]+)"', self.svg)]
