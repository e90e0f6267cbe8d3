"""Figures for run folders and for the Scipion viewers.

Every function builds a ``matplotlib.figure.Figure`` directly, never through pyplot: the same
figure is saved as a PNG by a run (no display needed) and embedded in a Tk window by a viewer,
and building it never switches the backend of a GUI process that uses pyplot itself.
"""
import math
import os
import textwrap

import numpy as np

# colours shared by the figures
PARTICLE_COLOUR = "tab:green"
BACKGROUND_COLOUR = "tab:blue"
IGNORED_COLOUR = "lightgrey"
SCORE_CMAP = "RdYlGn"  # picks: red (low score) to green (high)


def new_figure(width, height, dpi=100):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi)


def save_figure(fig, path):
    """Write ``fig`` to ``path`` (PNG by extension), creating the folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    return path


def _note(ax, text, width=44):
    """An empty panel that says why it is empty."""
    lines = [textwrap.fill(part, width) for part in text.split("\n")]
    ax.text(0.5, 0.5, "\n".join(lines), ha="center", va="center", transform=ax.transAxes,
            fontsize=9, color="dimgrey")
    ax.set_xticks([])
    ax.set_yticks([])


def _integer_ticks(ax):
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# ---------------------------------------------------------------------- evaluation
def precision_recall_figure(result, title="Precision-recall"):
    """Precision against recall over the score ranking of an evaluate() result, with the
    point of all picks and the best-F1 point (and its score threshold)."""
    curve, overall = result["curve"], result["overall"]
    fig = new_figure(5.2, 4.4)
    ax = fig.add_subplot(111)
    if curve["recall"]:
        recall, precision = np.asarray(curve["recall"]), np.asarray(curve["precision"])
        ax.step(recall, precision, where="post", color="tab:blue",
                label=f"ranked by score: AP {overall['ap']:.3f}")
        f1 = np.where(recall + precision > 0,
                      2 * recall * precision / np.maximum(recall + precision, 1e-12), 0.0)
        best = int(np.argmax(f1))
        threshold = curve["threshold"][best]
        at = f" at score >= {threshold:.2f}" if threshold is not None else ""
        ax.plot([recall[best]], [precision[best]], "*", ms=12, color="tab:green",
                label=f"best F1 {f1[best]:.3f}{at}")
    ax.plot([overall["recall"]], [overall["precision"]], "o", color="tab:red",
            label=f"all picks: P {overall['precision']:.2f} R {overall['recall']:.2f} "
                  f"F1 {overall['f1']:.2f}")
    ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="recall (true particles found)",
           ylabel="precision (picks that are particles)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_precision_recall(result, path, title="Precision-recall"):
    return save_figure(precision_recall_figure(result, title), path)


# ---------------------------------------------------------------------- U-Net training
def _phase_label(iteration):
    return "baseline (phase 1)" if iteration == 0 else f"self-training {iteration}"


def unet_history_figure(summary):
    """U-Net self-training: loss per epoch across phases; the pseudo-labels of each
    self-training iteration (share of particle / background / ignored pixels); validation
    precision, recall, F1 and AP per phase, when validation coordinates were given."""
    its = summary.get("iterations", [])
    fig = new_figure(14, 4.3)
    ax_loss, ax_labels, ax_val = fig.subplots(1, 3)

    start = 0
    for it in its:
        losses = it.get("losses", [])
        epochs = range(start + 1, start + len(losses) + 1)
        ax_loss.plot(epochs, losses, label=_phase_label(it["iteration"]))
        if start:
            ax_loss.axvline(start + 0.5, color="grey", ls=":", lw=0.8)
        start += len(losses)
    objective = (summary.get("config") or {}).get("objective")
    ax_loss.set(xlabel="epoch (all phases)",
                ylabel="training loss" + (f" ({objective})" if objective else ""),
                title="Training loss per epoch")
    if its:
        ax_loss.legend(fontsize=8)
        _integer_ticks(ax_loss)
    else:
        _note(ax_loss, "No finished phase yet.")

    rounds = [it for it in its if it["iteration"] > 0 and "positive_pixels" in it]
    if rounds:
        x = np.array([it["iteration"] for it in rounds])
        pos = np.array([100 * it["positive_pixels"] for it in rounds])
        neg = np.array([100 * it["negative_pixels"] for it in rounds])
        ign = np.array([100 * it["ignored_pixels"] for it in rounds])
        rest = "unlabelled" if objective == "nnpu" else "ignored"
        ax_labels.bar(x, pos, color=PARTICLE_COLOUR, label="particle (hand-picked + pseudo)")
        ax_labels.bar(x, neg, bottom=pos, color=BACKGROUND_COLOUR, label="reliable background")
        ax_labels.bar(x, ign, bottom=pos + neg, color=IGNORED_COLOUR, label=rest)
        for xi, p, it in zip(x, pos, rounds):
            cov = it.get("pseudo_positive_coverage")
            text = f"{p:.1f}%" + (f"\n(pseudo {100 * cov:.1f}%)" if cov is not None else "")
            ax_labels.text(xi, 2, text, ha="center", va="bottom", fontsize=7)
        ax_labels.set(xlabel="self-training iteration", ylabel="share of training pixels (%)",
                      ylim=(0, 100), xticks=x, title="Pseudo-labels per iteration")
        ax_labels.legend(fontsize=7, loc="upper right", framealpha=0.9)
    else:
        _note(ax_labels, "No self-training iteration: the model is the supervised baseline.")
        ax_labels.set_title("Pseudo-labels per iteration")

    threshold = summary.get("pick_threshold")
    validated = [it for it in its if it.get("validation")]
    if validated:
        x = [it["iteration"] for it in validated]
        for key, style in (("precision", "o-"), ("recall", "s-"), ("f1", "D-"), ("ap", "^--")):
            ax_val.plot(x, [it["validation"][key] for it in validated], style,
                        label=key.upper() if key in ("f1", "ap") else key)
        ax_val.set(xlabel="phase", ylabel="validation score (0-1)", ylim=(0, 1.02),
                   xticks=x, xticklabels=["base" if i == 0 else str(i) for i in x],
                   title="Validation per phase")
        ax_val.grid(alpha=0.3)
        ax_val.legend(fontsize=8, loc="best")
        last = validated[-1]["validation"]
        if last.get("best_threshold") is not None:
            ax_val.text(0.02, 0.02, f"best F1 {last.get('best_f1', 0):.3f} at score >= "
                                    f"{last['best_threshold']:.3f}",
                        transform=ax_val.transAxes, fontsize=8)
    else:
        chosen = "" if threshold is None else f"\nPicking threshold {threshold:.3f}, chosen " \
                                              "from the hand-picked labels."
        _note(ax_val, "No validation coordinates: give complete picks on a few other "
                      "micrographs to see precision, recall and F1 per phase." + chosen)
        ax_val.set_title("Validation per phase")

    head = (f"U-Net self-training: {summary.get('n_labels', '?')} labelled particles on "
            f"{summary.get('n_labelled_micrographs', '?')} of "
            f"{summary.get('n_micrographs', '?')} micrographs")
    if threshold is not None:
        head += f"; picking threshold {threshold:.3f}"
    fig.suptitle(head, fontsize=11)
    fig.tight_layout()
    return fig


def plot_training_history(summary, path):
    return save_figure(unet_history_figure(summary), path)


# ---------------------------------------------------------------------- FixMatch training
def fixmatch_history_figure(results):
    """Selective FixMatch per epoch: the two losses and lambda; the share of unlabelled
    patches with a confident pseudo-label (particle / background); validation AUC of the
    student and the EMA teacher, with the kept (best) epoch."""
    h = results.get("history", [])
    ep = [e["epoch"] for e in h]
    fig = new_figure(14, 4.3)
    ax_loss, ax_mask, ax_auc = fig.subplots(1, 3)
    if not h:
        for ax in (ax_loss, ax_mask, ax_auc):
            _note(ax, "No finished epoch yet.")
        return fig

    ax_loss.plot(ep, [e["l_sup"] for e in h], "o-", ms=3, label="L_sup (labelled)")
    ax_loss.plot(ep, [e["l_cons"] for e in h], "s-", ms=3, label="L_cons (consistency)")
    ax_loss.set(xlabel="epoch", ylabel="loss (mean per step)", title="Training losses")
    ax_lam = ax_loss.twinx()
    ax_lam.plot(ep, [e["lam"] for e in h], ":", color="grey", label="lambda")
    ax_lam.set_ylabel("lambda (consistency weight)", color="dimgrey")
    ax_lam.set_ylim(0, max(1.0, max(e["lam"] for e in h)) * 1.05)
    lines = ax_loss.get_legend_handles_labels()
    extra = ax_lam.get_legend_handles_labels()
    ax_loss.legend(lines[0] + extra[0], lines[1] + extra[1], fontsize=8, loc="upper center",
                   bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    _integer_ticks(ax_loss)

    ax_mask.plot(ep, [100 * e["mask"] for e in h], "o-", ms=3, color="black",
                 label="all confident (mask rate)")
    ax_mask.plot(ep, [100 * e["mask_pos"] for e in h], "^-", ms=3, color=PARTICLE_COLOUR,
                 label="confident particle")
    ax_mask.plot(ep, [100 * e["mask_neg"] for e in h], "v-", ms=3, color=BACKGROUND_COLOUR,
                 label="confident background")
    tau = ((results.get("config") or {}).get("loss") or {}).get("confidence_threshold")
    ax_mask.set(xlabel="epoch", ylabel="unlabelled patches with a pseudo-label (%)",
                ylim=(0, 102), title="Pseudo-labels (teacher confidence"
                                     + (f" >= {tau:g})" if tau else ")"))
    ax_mask.legend(fontsize=8)
    _integer_ticks(ax_mask)

    ax_auc.plot(ep, [e["auc"] for e in h], "o-", ms=3, label="student")
    ax_auc.plot(ep, [e["auc_ema"] for e in h], "s-", ms=3, label="EMA teacher (picks)")
    best = results.get("best_epoch_ema")
    if best in ep:
        ax_auc.plot([best], [h[ep.index(best)]["auc_ema"]], "*", ms=14, color="tab:red",
                    label=f"kept: epoch {best}")
    low = min(0.5, min(min(e["auc"], e["auc_ema"]) for e in h))
    ax_auc.set(xlabel="epoch", ylabel="validation AUC", ylim=(low - 0.02, 1.01))
    ax_auc.set_title("Validation AUC", fontsize=12, pad=14)
    ax_auc.text(0.5, 1.005, textwrap.fill(str(results.get("validation", "")), 60),
                transform=ax_auc.transAxes, ha="center", va="bottom", fontsize=7,
                color="dimgrey")
    ax_auc.grid(alpha=0.3)
    ax_auc.legend(fontsize=8, loc="lower right")
    _integer_ticks(ax_auc)

    head = f"Selective FixMatch: {results.get('n_labels', '?')} labelled particles"
    if results.get("stopped_early"):
        head += f", early stop after {len(h)} epochs"
    if results.get("pick_threshold") is not None:
        head += f"; picking threshold {results['pick_threshold']:.3f}"
    fig.suptitle(head, fontsize=11)
    fig.tight_layout()
    return fig


def plot_fixmatch_history(results, path):
    return save_figure(fixmatch_history_figure(results), path)


# ---------------------------------------------------------------------- picks
def display_image(image, max_side=1024, smooth=0.0):
    """A micrograph for display: block-averaged to at most ``max_side`` pixels, optionally
    smoothed (Gaussian sigma in micrograph pixels), stretched to [0, 1] between its 1st and
    99th percentiles. Returns (image, binning factor)."""
    image = np.asarray(image, dtype=np.float32)
    factor = max(1, int(math.ceil(max(image.shape) / float(max_side))))
    if factor > 1:
        h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
        image = image[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    if smooth / factor >= 0.5:
        from scipy import ndimage

        image = ndimage.gaussian_filter(image, smooth / factor)
    lo, hi = np.percentile(image, [1, 99])
    if not hi > lo:
        lo, hi = float(image.min()), float(image.max()) + 1e-6
    return np.clip((image - lo) / (hi - lo), 0, 1), factor


class PicksPlot:
    """A micrograph with its picks as circles coloured by score, and the histogram of the
    scores of a whole set; ``set_threshold`` redraws the picks kept at another threshold
    (the rest as thin grey circles) without rebuilding the figure.
    """

    def __init__(self, fig, image, picks, radius, threshold, title="", all_scores=None,
                 score_range=(0.0, 1.0), max_side=1024):
        from matplotlib.cm import ScalarMappable
        from matplotlib.collections import EllipseCollection
        from matplotlib.colors import Normalize

        self.fig, self.title = fig, title
        self.picks = np.asarray(picks, dtype=np.float64).reshape(-1, 3)
        self.scores = np.nan_to_num(self.picks[:, 2], nan=-np.inf)
        self.all_scores = (np.asarray(all_scores, dtype=np.float64) if all_scores is not None
                           else self.picks[:, 2])
        self.all_scores = self.all_scores[np.isfinite(self.all_scores)]
        self.norm = Normalize(*score_range)
        self.cmap = SCORE_CMAP
        self.mappable = ScalarMappable(norm=self.norm, cmap=self.cmap)

        grid = fig.add_gridspec(2, 2, height_ratios=[5, 1.1], width_ratios=[30, 1],
                                hspace=0.3, wspace=0.04, left=0.08, right=0.93, top=0.95,
                                bottom=0.07)
        self.ax = fig.add_subplot(grid[0, 0])
        cax = fig.add_subplot(grid[0, 1])
        self.ax_hist = fig.add_subplot(grid[1, :])
        height, width = np.asarray(image).shape
        shown, factor = display_image(image, max_side, smooth=radius / 6.0)
        self.factor = factor
        self.ax.imshow(shown, cmap="gray", origin="upper", interpolation="bilinear",
                       extent=(-0.5, shown.shape[1] * factor - 0.5,
                               shown.shape[0] * factor - 0.5, -0.5))
        self.ax.set(xlim=(-0.5, width - 0.5), ylim=(height - 0.5, -0.5))
        self.ax.set_xlabel("x (px)", fontsize=8)
        self.ax.set_ylabel("y (px)", fontsize=8)
        self.ax.tick_params(labelsize=7)
        size = 2.0 * radius
        common = dict(units="xy", offset_transform=self.ax.transData, facecolors="none")
        self.rejected = EllipseCollection(size, size, 0, offsets=np.zeros((0, 2)),
                                          edgecolors="silver", linewidths=0.6,
                                          linestyles="--", **common)
        self.kept = EllipseCollection(size, size, 0, offsets=np.zeros((0, 2)), linewidths=1.4,
                                      **common)
        self.ax.add_collection(self.rejected)
        self.ax.add_collection(self.kept)
        cbar = fig.colorbar(self.mappable, cax=cax)
        cbar.set_label("score", fontsize=8)
        cbar.ax.tick_params(labelsize=7)

        bins = np.linspace(score_range[0], score_range[1], 41)
        if len(self.all_scores):
            self.ax_hist.hist(self.all_scores, bins=bins, color="grey")
        self.ax_hist.set_xlim(*score_range)
        self.ax_hist.set_xlabel("score (all micrographs)", fontsize=8)
        self.ax_hist.set_ylabel("picks", fontsize=8)
        self.ax_hist.tick_params(labelsize=7)
        self.below = None
        self.line = self.ax_hist.axvline(score_range[0], color="tab:red")
        self.set_threshold(threshold)

    def counts(self, threshold):
        """(kept on this micrograph, picks on it, kept in the set, picks in the set)."""
        return (int(np.sum(self.scores >= threshold)), len(self.scores),
                int(np.sum(self.all_scores >= threshold)), len(self.all_scores))

    def set_threshold(self, threshold):
        self.threshold = float(threshold)
        keep = self.scores >= self.threshold
        xy = self.picks[:, :2]
        self.kept.set_offsets(xy[keep] if keep.any() else np.zeros((0, 2)))
        self.kept.set_edgecolor(self.mappable.to_rgba(self.picks[keep, 2]) if keep.any()
                                else "none")
        self.rejected.set_offsets(xy[~keep] if (~keep).any() else np.zeros((0, 2)))
        if self.below is not None:
            self.below.remove()
        self.below = self.ax_hist.axvspan(self.norm.vmin, self.threshold, color="tab:red",
                                          alpha=0.15, lw=0)
        self.line.set_xdata([self.threshold, self.threshold])
        n_kept, n, total_kept, total = self.counts(self.threshold)
        self.ax.set_title(f"{self.title}  {n_kept} of {n} picks at score >= "
                          f"{self.threshold:.3f}", fontsize=9)
        self.ax_hist.set_title(f"all micrographs: {total_kept} of {total} picks kept",
                               fontsize=8)
        return n_kept, total_kept


def picks_figure(image, picks, radius, threshold, title="", all_scores=None,
                 score_range=(0.0, 1.0)):
    """A figure of one micrograph and its picks (see PicksPlot); returns (figure, plot)."""
    height, width = np.asarray(image).shape
    fig = new_figure(8, min(12.0, 7.2 * height / max(width, 1) + 2.6))
    plot = PicksPlot(fig, image, picks, radius, threshold, title, all_scores, score_range)
    return fig, plot
