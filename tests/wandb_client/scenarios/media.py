"""Log every media type wandb knows: images (one and a list), histograms, a table with image cells, custom plots,
audio, video and Html, over a few steps. Needs numpy and Pillow beside the client.

Usage: media.py PROJECT [STEPS] [--no-tables]

``--no-tables``: log no Table and no plot (wandb before 0.31 saves a logged table as an artifact, which fails
on a server that does not store artifacts).
"""

import sys
import wave

import numpy as np
import wandb
from PIL import Image

project = sys.argv[1]
args = [a for a in sys.argv[2:] if not a.startswith("--")]
steps = int(args[0]) if args else 3
tables = "--no-tables" not in sys.argv
run = wandb.init(project=project, name="media-run", config={"lr": 0.1})
print(f"RUN_ID {run.id}", flush=True)
rng = np.random.default_rng(0)


def picture(step: int) -> np.ndarray:
    img = np.zeros((32, 48, 3), dtype=np.uint8)
    img[:, :, 0] = np.linspace(0, 255, 48, dtype=np.uint8)[None, :]
    img[:, :, 1] = (step * 60) % 256
    img[4:12, 4 + step * 4 : 12 + step * 4, 2] = 255
    return img


for step in range(steps):
    wandb.log(
        {
            "loss": 1.0 / (step + 1),
            "img": wandb.Image(picture(step), caption=f"step {step}"),
            "grid": [wandb.Image(picture(step + i), caption=f"cell {i}") for i in range(3)],
            "weights": wandb.Histogram(rng.normal(step, 1.0, 1000)),
        },
        step=step,
    )

table = wandb.Table(columns=["id", "label", "score", "image"])
for i in range(20):
    table.add_data(i, f"class-{i % 3}", float(i) / 20, wandb.Image(picture(i % 4)))
xs = list(range(10))
line_table = wandb.Table(data=[[x, x * x] for x in xs], columns=["x", "y"])
bar_table = wandb.Table(data=[["a", 3], ["b", 5], ["c", 1]], columns=["label", "value"])
hist_table = wandb.Table(data=[[float(v)] for v in rng.normal(0, 1, 200)], columns=["value"])
wave_data = (np.sin(np.linspace(0, 440 * 2 * np.pi, 8000)) * 0.3).astype(np.float32)
extra = {
    "samples": table,
    "line_plot": wandb.plot.line(line_table, "x", "y", title="squares"),
    "scatter_plot": wandb.plot.scatter(line_table, "x", "y", title="scatter"),
    "bar_plot": wandb.plot.bar(bar_table, "label", "value", title="bars"),
    "hist_plot": wandb.plot.histogram(hist_table, "value", title="normal"),
    "series_plot": wandb.plot.line_series(xs=xs, ys=[xs, [2 * x for x in xs]], keys=["one", "two"], title="series"),
    "confusion": wandb.plot.confusion_matrix(
        y_true=[0, 1, 2, 1, 0], preds=[0, 2, 2, 1, 0], class_names=["cat", "dog", "bird"]
    ),
}
if not tables:
    extra = {}
extra |= {
    "page": wandb.Html("<h1>hello runyard</h1><script>document.title='x'</script>"),
}
# Audio and video from files: arrays would need soundfile and moviepy in the client's environment.
with wave.open("tone.wav", "wb") as out:
    out.setnchannels(1)
    out.setsampwidth(2)
    out.setframerate(8000)
    out.writeframes((wave_data * 32767).astype("<i2").tobytes())
frames = [Image.fromarray(picture(i)) for i in range(4)]
frames[0].save("clip.gif", save_all=True, append_images=frames[1:], duration=250, loop=0)
extra["sound"] = wandb.Audio("tone.wav", caption="tone")
extra["clip"] = wandb.Video("clip.gif", format="gif")
wandb.log(extra, step=steps)
wandb.finish()
