"""The computational graph of exercise 1 (``autodiff_graph.png``), drawn with matplotlib only.

One rounded box per node (its label, definition, forward value and adjoint),
one arrow per input, labelled with the local partial derivative (formula and
value). Nodes sit in columns by their depth (longest path from an input), and
within a column by the mean height of their inputs, which keeps arrows short
and uncrossed for small graphs like the one of exercise 1. No graphviz needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from jaxnn.autodiff import bar_name, latex_name
from jaxnn.formatting import fmt
from jaxnn.plotting import new_figure, save_figure

Node = Mapping  # one row of ``results["forward"]``: name, op, definition, value, inputs,
#                 local_partials (wrt, formula, value) and adjoint

_NODE_STYLE = {"boxstyle": "round,pad=0.5", "facecolor": "#eef3fb", "edgecolor": "#3b6aa0"}
_INPUT_STYLE = {"boxstyle": "round,pad=0.5", "facecolor": "#fdf1dc", "edgecolor": "#b07b1f"}
_LABEL_STYLE = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"}


def plot_all(results: dict, out: str | os.PathLike) -> list[Path]:
    """Writes ``autodiff_graph.png`` from the results of ``jaxnn.studies.autodiff_z``."""
    title = (
        f"${results['function']}$ at $(a, b) = ({fmt(results['a'])}, {fmt(results['b'])})$:  "
        f"$z$ = {fmt(results['z'], 6)},  "
        rf"$\partial z/\partial a$ = {fmt(results['dz_da'], 6)},  "
        rf"$\partial z/\partial b$ = {fmt(results['dz_db'], 6)}"
    )
    figure = plot_graph(results["forward"], title=title)
    return [save_figure(figure, Path(out) / "autodiff_graph.png")]


def layered_layout(
    nodes: Sequence[Node], *, min_gap: float = 1.0
) -> dict[str, tuple[float, float]]:
    """Positions ``name -> (column, height)`` for nodes given in a topological order.

    The column is the longest path from an input. Within a column, nodes are
    placed at the mean height of their inputs (inputs top to bottom), then
    pushed down to keep ``min_gap``; on a tie, the node whose outgoing edges
    span more columns goes lower, so long edges run below the short ones
    instead of through their boxes.
    """
    column: dict[str, int] = {}
    for node in nodes:
        column[node["name"]] = 1 + max((column[i] for i in node["inputs"]), default=-1)
    span = {node["name"]: 0 for node in nodes}
    for node in nodes:
        for source in node["inputs"]:
            span[source] = max(span[source], column[node["name"]] - column[source])
    height: dict[str, float] = {}
    for depth in range(max(column.values()) + 1):
        members = [n for n in nodes if column[n["name"]] == depth]
        targets = {
            n["name"]: sum(height[i] for i in n["inputs"]) / len(n["inputs"])
            if n["inputs"]
            else -float(k)
            for k, n in enumerate(members)
        }
        previous = None
        for name in sorted(targets, key=lambda name: (-targets[name], span[name])):
            place = targets[name] if previous is None else min(targets[name], previous - min_gap)
            height[name] = place
            previous = place
    return {name: (float(column[name]), height[name]) for name in column}


def _box_text(node: Node, digits: int) -> str:
    # Numbers stay outside mathtext, which would typeset 1e-06 as a subtraction.
    label = latex_name(node["name"])
    head = f"${label} = {node['definition']}$" if node["definition"] else f"${label}$ (input)"
    return (
        f"{head}\nvalue {fmt(node['value'], digits)}\n"
        f"${bar_name(node['name'])}$ = {fmt(node['adjoint'], digits)}"
    )


def _edge_text(consumer: Node, slot: int, digits: int) -> str:
    partial = consumer["local_partials"][slot]
    symbol = rf"\partial {latex_name(consumer['name'])} / \partial {latex_name(partial['wrt'])}"
    if partial["formula"] == f"{partial['value']:g}":
        return f"${symbol} = {partial['formula']}$"
    return f"${symbol} = {partial['formula']}$\n= {fmt(partial['value'], digits)}"


def _data_box(text, ax) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` of a drawn text's box, in data coordinates."""
    extent = text.get_bbox_patch().get_window_extent()
    corners = [[extent.x0, extent.y0], [extent.x1, extent.y1]]
    (x0, y0), (x1, y1) = ax.transData.inverted().transform(corners)
    return x0, y0, x1, y1


def _exit_point(center, toward, box) -> tuple[float, float]:
    """Where the segment from ``center`` (inside ``box``) to ``toward`` leaves the box."""
    (cx, cy), (tx, ty) = center, toward
    dx, dy = tx - cx, ty - cy
    x0, y0, x1, y1 = box
    limits = []
    if dx:
        limits.append(((x1 if dx > 0 else x0) - cx) / dx)
    if dy:
        limits.append(((y1 if dy > 0 else y0) - cy) / dy)
    t = min(limits)
    return cx + t * dx, cy + t * dy


_ARROW = {
    "arrowstyle": "-|>",
    "color": "#555555",
    "lw": 1.2,
    "shrinkA": 0,
    "shrinkB": 1,
    "mutation_scale": 14,
}


def _draw_edges(ax, consumer: Node, positions: dict, extents: dict, digits: int) -> None:
    """The arrows into ``consumer``, edge to edge of the boxes, each with its local partial."""
    name = consumer["name"]
    for slot, source in enumerate(consumer["inputs"]):
        start = _exit_point(positions[source], positions[name], extents[source])
        end = _exit_point(positions[name], positions[source], extents[name])
        ax.annotate("", xy=end, xytext=start, zorder=1, arrowprops=_ARROW)
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        ax.text(
            *middle,
            _edge_text(consumer, slot, digits),
            ha="center",
            va="center",
            fontsize=9,
            color="#333333",
            bbox=_LABEL_STYLE,
            zorder=2,
        )


def plot_graph(
    nodes: Sequence[Node],
    *,
    title: str,
    digits: int = 6,
    column_width: float = 4.4,
    row_height: float = 1.7,
):
    """The figure of the traced graph ``nodes`` (the rows of ``results["forward"]``), with
    ``digits`` significant digits, ``column_width`` inches per layout column and
    ``row_height`` inches per unit of layout height; save it with ``save_figure``."""
    positions = layered_layout(nodes)
    columns = max(x for x, _ in positions.values()) + 1
    heights = [y for _, y in positions.values()]
    rows = max(heights) - min(heights) + 1
    fig, axes = new_figure(size=(column_width * columns, row_height * rows))
    ax = axes[0, 0]
    ax.axis("off")
    ax.set_xlim(-0.5, columns - 0.5)
    ax.set_ylim(min(heights) - 0.5, max(heights) + 0.5)

    boxes = {}
    for node in nodes:
        style = _INPUT_STYLE if node["op"] == "input" else _NODE_STYLE
        boxes[node["name"]] = ax.text(
            *positions[node["name"]],
            _box_text(node, digits),
            ha="center",
            va="center",
            fontsize=10,
            linespacing=1.5,
            bbox=style,
            zorder=3,
        )
    fig.canvas.draw()  # sizes the boxes, so arrows can start and stop at their edges
    extents = {name: _data_box(text, ax) for name, text in boxes.items()}

    for consumer in nodes:
        _draw_edges(ax, consumer, positions, extents, digits)
    ax.set_title(title, fontsize=12)
    ax.text(
        0.0,
        0.0,
        "boxes: definition, forward value, and adjoint "
        "$\\bar v = \\partial z/\\partial v$ (backward pass); arrows: local partial derivatives",
        transform=ax.transAxes,
        fontsize=9,
        color="#444444",
        va="top",
    )
    return fig
