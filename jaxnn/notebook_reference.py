"""Published curves read from a Jupyter notebook's stored outputs, not typed by hand.

The mnist1d repository's ``notebooks/deep-double-descent.ipynb`` trains one
model per width in three cells and prints, for each,
``Training model with  47 hidden variables`` (or ``channels``) and then
``Epoch   500, train loss ..., train error ..., test loss ..., test error ...``
(errors in percent, two decimals), and ``%%time`` prints the cell's wall time.
``parse_cell_output`` turns one cell's printed text into rows (errors as
fractions, nothing rounded beyond what was printed); ``transcribe`` finds the
three cells by their first comment and returns the reference document that
``jaxnn/reference/mnist1d_deep_double_descent.json`` holds.
"""

from __future__ import annotations

import re

# One row per width: the width line, then the last epoch's line before the next width.
_WIDTH = re.compile(r"Training model with\s+(\d+)\s+(hidden variables|channels)")
_EPOCH = re.compile(
    r"Epoch\s+(\d+), train loss ([\d.]+), train error ([\d.]+), "
    r"test loss ([\d.]+), test error ([\d.]+)"
)
_WALL = re.compile(r"Wall time:\s*(?:(\d+)h\s*)?(?:(\d+)min\s*)?(?:([\d.]+)s)?")

# The notebook's three training cells, by the comment that opens them (after %%time).
CELLS = (
    ("# Without label noise", "mlp", 0.0, "MLP, no label noise"),
    ("# With label noise\n\nhidden_variables", "mlp", 0.15, "MLP, 15 % label noise"),
    ("# With label noise\n# Need to reshape", "cnn", 0.15, "CNN, 15 % label noise"),
)


def parse_cell_output(text: str) -> dict:
    """``{"epochs", "rows", "wall_time_seconds"}`` from one training cell's printed text.

    Raises:
        ValueError: a width without an epoch line, or epoch lines at different epochs.
    """
    rows, epochs = [], set()
    blocks = _WIDTH.split(text)[1:]  # width, unit, body, width, unit, body, ...
    for width, _, body in zip(blocks[0::3], blocks[1::3], blocks[2::3], strict=True):
        lines = _EPOCH.findall(body)
        if not lines:
            raise ValueError(f"text: width {width} has no 'Epoch ...' line")
        epoch, train_loss, train_error, test_loss, test_error = lines[-1]
        epochs.add(int(epoch))
        rows.append(
            {
                "width": int(width),
                "train_loss": float(train_loss),
                "train_error": round(float(train_error) / 100, 6),
                "test_loss": float(test_loss),
                "test_error": round(float(test_error) / 100, 6),
            }
        )
    if len(epochs) > 1:
        raise ValueError(f"text: widths stop at different epochs {sorted(epochs)}")
    wall = _WALL.search(text)
    seconds = None
    if wall and any(wall.groups()):
        hours, minutes, secs = (float(g) if g else 0.0 for g in wall.groups())
        seconds = round(3600 * hours + 60 * minutes + secs)
    return {"epochs": epochs.pop() if epochs else None, "wall_time_seconds": seconds, "rows": rows}


def transcribe(notebook: dict) -> list[dict]:
    """The three published curves of the deep-double-descent notebook, in the cells' order.

    Raises:
        ValueError: a training cell is missing or printed nothing.
    """
    curves = []
    for opening, model, label_noise, title in CELLS:
        cell = next(
            (
                c
                for c in notebook["cells"]
                if c["cell_type"] == "code"
                and "".join(c["source"]).replace("%%time", "").strip().startswith(opening)
            ),
            None,
        )
        if cell is None:
            raise ValueError(f"notebook: no code cell opens with {opening.splitlines()[0]!r}")
        # A stream's "text" is a string or a list of lines: "".join reads either.
        printed = "".join("".join(output.get("text", "")) for output in cell.get("outputs", []))
        parsed = parse_cell_output(printed)
        if not parsed["rows"]:
            raise ValueError(f"notebook: the cell {title!r} printed no widths")
        curves.append({"model": model, "label_noise": label_noise, "title": title, **parsed})
    return curves
