"""Tk windows of the cryopick viewers.

A view holds plain data (a matplotlib Figure, table rows, text lines) built when the viewer
runs, and creates its Tk window only in ``show()``: tests and scripts build the views
headless and check their content; Scipion's project window shows them.
"""
import tkinter as tk
from tkinter import ttk

from pyworkflow.viewer import View


def toplevel(master, title):
    """A window over the Scipion window ``master``; without one (a script), a new Tk root
    whose main loop the caller runs. Returns (window, needs_mainloop)."""
    if master is None and tk._default_root is None:
        win = tk.Tk()
        needs_loop = True
    else:
        win = tk.Toplevel(master)
        needs_loop = False
    win.title(title)
    return win, needs_loop


def embed_figure(parent, figure, toolbar=True):
    """A matplotlib Figure in a Tk frame, with the zoom / pan / save toolbar."""
    from matplotlib.backends.backend_tkagg import FigureCanvasTkAgg, NavigationToolbar2Tk

    canvas = FigureCanvasTkAgg(figure, master=parent)
    if toolbar:
        bar = NavigationToolbar2Tk(canvas, parent, pack_toolbar=False)
        bar.update()
        bar.pack(side=tk.BOTTOM, fill=tk.X)
    canvas.get_tk_widget().pack(side=tk.TOP, fill=tk.BOTH, expand=True)
    canvas.draw()
    return canvas


def numeric_column(values):
    """Whether a table column holds numbers (right-aligned): its blank cells (nothing for
    that row, e.g. the baseline's pseudo-labels) do not decide it."""
    filled = [v for v in values if v]
    return bool(filled) and all(_is_number(v) for v in filled)


def _is_number(text):
    try:
        float(text.split()[0] if text else "x")
        return True
    except ValueError:
        return False


def make_table(parent, headers, rows, height=10, side=tk.TOP, expand=False, max_width=420):
    """A read-only table (ttk.Treeview) with a vertical scroll bar; returns the tree."""
    frame = ttk.Frame(parent)
    frame.pack(side=side, fill=tk.BOTH, expand=expand, padx=4, pady=4)
    tree = ttk.Treeview(frame, columns=list(range(len(headers))), show="headings",
                        height=min(height, max(len(rows), 1)))
    for i, head in enumerate(headers):
        tree.heading(i, text=head)
        values = [str(r[i]) for r in rows[:200]]
        width = max([len(str(head)) * 8] + [len(v) * 7 for v in values]) + 20
        numeric = numeric_column(values)  # numbers right, text left
        tree.column(i, width=min(max(width, 60), max_width), stretch=not numeric,
                    anchor=tk.E if numeric else tk.W)
    for row in rows:
        tree.insert("", tk.END, values=[str(v) for v in row])
    scroll = ttk.Scrollbar(frame, orient=tk.VERTICAL, command=tree.yview)
    tree.configure(yscrollcommand=scroll.set)
    tree.pack(side=tk.LEFT, fill=tk.BOTH, expand=True)
    scroll.pack(side=tk.RIGHT, fill=tk.Y)
    return tree


class ResultsView(View):
    """One window: text lines at the top, a figure, and a table below it (each optional)."""

    def __init__(self, title, figure=None, headers=None, rows=None, lines=None, master=None,
                 table_height=10):
        self.title = title
        self.figure = figure
        self.headers = list(headers or [])
        self.rows = [list(r) for r in (rows or [])]
        self.lines = list(lines or [])
        self.master = master
        self.table_height = table_height
        self.window = None

    def show(self):
        win, needs_loop = toplevel(self.master, self.title)
        self.window = win
        if self.lines:
            ttk.Label(win, text="\n".join(self.lines), justify=tk.LEFT, anchor=tk.W,
                      wraplength=1100).pack(side=tk.TOP, fill=tk.X, padx=8, pady=6)
        if self.rows:
            make_table(win, self.headers, self.rows, self.table_height, side=tk.BOTTOM,
                       expand=self.figure is None,
                       max_width=420 if len(self.headers) > 2 else 1000)
        if self.figure is not None:
            frame = ttk.Frame(win)
            frame.pack(side=tk.TOP, fill=tk.BOTH, expand=True)
            embed_figure(frame, self.figure)
        if needs_loop:
            win.mainloop()
