"""Picks over their micrographs, coloured by score, with a live score threshold.

``PickScores`` (plain data, no Tk) reads a SetOfCoordinates once; ``PicksWindow`` shows one
micrograph at a time with a threshold slider, the kept counts per micrograph and in total
updating as the slider moves, and a button that writes the coordinates kept at the chosen
threshold as a new SetOfCoordinates (through 'cryopick - filter coordinates by score').
"""
import math
import os
import tkinter as tk
from tkinter import messagebox, ttk

import numpy as np
from pyworkflow.viewer import View

from ..convert import coordinates_to_tables, micrograph_key
from ..engine.io.images import read_micrograph
from ..engine.io.plots import PicksPlot, new_figure
from ..engine.picking.scale import BOX_PER_DIAMETER
from .views import embed_figure, toplevel


class PickScores:
    """The picks of a SetOfCoordinates by micrograph, with their scores.

    ``root``: folder that relative micrograph paths are relative to (the project's).
    """

    def __init__(self, coords, root=None, name=""):
        self.name = name or f"{coords.getSize()} coordinates"
        self.box = coords.getBoxSize() or 0
        # the particle radius: the box is BOX_PER_DIAMETER diameters
        self.radius = max(self.box / BOX_PER_DIAMETER / 2.0, 3.0)
        tables = coordinates_to_tables(coords)
        self.micrographs = []  # (key, path) in the set's order
        for mic in coords.getMicrographs().iterItems():
            path = mic.getFileName()
            if root and not os.path.isabs(path):
                path = os.path.join(root, path)
            self.micrographs.append((micrograph_key(mic), path))
        empty = np.zeros((0, 3))
        self.tables = {key: tables.get(key, empty) for key, _ in self.micrographs}
        scores = [t[:, 2] for t in self.tables.values() if len(t)]
        scores = np.concatenate(scores) if scores else np.zeros(0)
        self.scores = scores[np.isfinite(scores)]
        self.n_total = int(sum(len(t) for t in self.tables.values()))
        self._images = {}

    def has_scores(self):
        return len(self.scores) > 0

    def lowest_score(self):
        """The lowest score in the set: the picking run's threshold, roughly."""
        return float(self.scores.min()) if len(self.scores) else 0.0

    def counts(self, threshold):
        """({micrograph key: (kept, picks)}, kept in total, picks in total)."""
        per_mic = {}
        for key, table in self.tables.items():
            scores = table[:, 2]
            per_mic[key] = (int(np.sum(scores >= threshold)), len(scores))
        return per_mic, int(np.sum(self.scores >= threshold)), self.n_total

    def image(self, key):
        if key not in self._images:
            if len(self._images) > 8:  # keep memory bounded on big sets
                self._images.pop(next(iter(self._images)))
            path = dict(self.micrographs)[key]
            self._images[key] = read_micrograph(path)
        return self._images[key]

    def plot(self, figure, key, threshold):
        """Draw micrograph ``key`` with its picks into ``figure`` (cleared); a PicksPlot."""
        figure.clear()
        return PicksPlot(figure, self.image(key), self.tables[key], self.radius, threshold,
                         title=key, all_scores=self.scores)

    def figure(self, key, threshold):
        """A new figure of micrograph ``key`` (for scripts, tests and PNGs)."""
        fig = new_figure(8, 8)
        return fig, self.plot(fig, key, threshold)


class PicksWindow:
    """The Tk window; ``create(threshold)`` makes the filtered set (None: no button)."""

    def __init__(self, master, data, title, threshold=None, create=None, note=""):
        self.data, self.create = data, create
        self.win, self.needs_loop = toplevel(master, title)
        self.win.geometry("1250x900")
        start = data.lowest_score() if threshold is None else threshold
        # on the slider's 0.005 grid, at or below the lowest score: every pick kept at first
        self.threshold = tk.DoubleVar(value=math.floor(start * 200 + 1e-9) / 200)
        self.key = data.micrographs[0][0] if data.micrographs else None

        left = ttk.Frame(self.win)
        left.pack(side=tk.LEFT, fill=tk.Y, padx=4, pady=4)
        ttk.Label(left, text="Micrographs (kept / picks)").pack(side=tk.TOP, anchor=tk.W)
        self.tree = ttk.Treeview(left, columns=("kept", "picks"), show="tree headings",
                                 height=30, selectmode="browse")
        self.tree.heading("#0", text="micrograph")
        self.tree.heading("kept", text="kept")
        self.tree.heading("picks", text="picks")
        self.tree.column("#0", width=220)
        self.tree.column("kept", width=60, anchor=tk.E)
        self.tree.column("picks", width=60, anchor=tk.E)
        scroll = ttk.Scrollbar(left, orient=tk.VERTICAL, command=self.tree.yview)
        self.tree.configure(yscrollcommand=scroll.set)
        self.tree.pack(side=tk.LEFT, fill=tk.Y)
        scroll.pack(side=tk.LEFT, fill=tk.Y)
        for key, _ in data.micrographs:
            self.tree.insert("", tk.END, iid=key, text=key, values=("", ""))
        self.tree.bind("<<TreeviewSelect>>", self._on_select)

        right = ttk.Frame(self.win)
        right.pack(side=tk.LEFT, fill=tk.BOTH, expand=True)
        bottom = ttk.Frame(right)
        bottom.pack(side=tk.BOTTOM, fill=tk.X, padx=6, pady=6)
        if note:
            ttk.Label(bottom, text=note, foreground="dimgrey", wraplength=900,
                      justify=tk.LEFT).pack(side=tk.TOP, anchor=tk.W)
        row = ttk.Frame(bottom)
        row.pack(side=tk.TOP, fill=tk.X, pady=(4, 0))
        ttk.Label(row, text="Score threshold").pack(side=tk.LEFT)
        self.scale = tk.Scale(row, from_=0.0, to=1.0, resolution=0.005, orient=tk.HORIZONTAL,
                              variable=self.threshold, length=480, showvalue=True,
                              command=lambda *_: self._on_threshold())
        self.scale.pack(side=tk.LEFT, padx=6)
        if create is not None:
            ttk.Button(row, text="Create coordinates at this threshold",
                       command=self._on_create).pack(side=tk.LEFT, padx=10)
        self.count_label = ttk.Label(bottom, text="", font=("TkDefaultFont", 11, "bold"))
        self.count_label.pack(side=tk.TOP, anchor=tk.W, pady=(2, 0))

        self.figure = new_figure(8, 8)
        plot_frame = ttk.Frame(right)
        plot_frame.pack(side=tk.TOP, fill=tk.BOTH, expand=True)
        self.plot = None
        self.canvas = embed_figure(plot_frame, self.figure)
        if self.key is not None:
            self.tree.selection_set(self.key)  # draws it through _on_select
        self._update_counts()

    def _on_select(self, _event=None):
        selected = self.tree.selection()
        if not selected:
            return
        self.key = selected[0]
        try:
            self.plot = self.data.plot(self.figure, self.key, self.threshold.get())
        except Exception as exc:  # an unreadable micrograph: say so, keep the window
            self.figure.clear()
            self.figure.text(0.5, 0.5, f"Cannot show {self.key}:\n{exc}", ha="center")
            self.plot = None
        self.canvas.draw_idle()

    def _on_threshold(self):
        if self.plot is not None:
            self.plot.set_threshold(self.threshold.get())
            self.canvas.draw_idle()
        self._update_counts()

    def _update_counts(self):
        per_mic, kept, total = self.data.counts(self.threshold.get())
        for key, (k, n) in per_mic.items():
            self.tree.item(key, values=(k, n))
        share = f" ({100.0 * kept / total:.0f}%)" if total else ""
        self.count_label.configure(
            text=f"{kept} of {total} picks kept{share} at score >= {self.threshold.get():.3f}")

    def _on_create(self):
        t = float(self.threshold.get())
        _, kept, total = self.data.counts(t)
        if not messagebox.askyesno(
                "Create coordinates",
                f"Create a new set of coordinates with the {kept} of {total} picks scoring at "
                f"least {t:.3f}?\n\nA run 'cryopick - filter coordinates by score' is added to "
                "the project; its output goes to particle extraction like any coordinates.",
                parent=self.win):
            return
        try:
            prot = self.create(t)
        except Exception as exc:
            messagebox.showerror("Create coordinates", str(exc), parent=self.win)
            return
        messagebox.showinfo("Create coordinates",
                            f"Run '{prot.getRunName()}' launched: its coordinates appear in "
                            "the project when it finishes.", parent=self.win)


class PicksView(View):
    """The picks window of a set; ``create(threshold)`` launches the filter run."""

    def __init__(self, data, title, threshold=None, create=None, note="", master=None):
        self.data, self.title, self.threshold = data, title, threshold
        self.create, self.note, self.master = create, note, master
        self.window = None

    def show(self):
        self.window = PicksWindow(self.master, self.data, self.title, self.threshold,
                                  self.create, self.note)
        if self.window.needs_loop:
            self.window.win.mainloop()
