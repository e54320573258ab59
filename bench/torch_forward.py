"""PyTorch time of one forward pass of the original code's NAFNet (codes/config/denoising-sde, the
unconditional form irsde's shipped denoiser uses) for a config given as JSON, at one size: the
same network as `bench/infer-profile.ts` times on ONNX Runtime, for its same-run ratio.

    python3 bench/torch_forward.py '{"width":32,"encBlocks":[2,2,4],"middleBlocks":4,"decBlocks":[2,2,2],"imgChannels":3}' 512 [threads] [reps]

Prints one JSON line: {"median_ms": ..., "min_ms": ..., "threads": ...}. Random weights (the time
does not depend on their values). Needs Debian's python3-torch and ../shared/reference/original.
"""
import json
import os
import statistics
import sys
import time

# Two cores means two torch threads; OpenBLAS's own pool would oversubscribe them.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("IRSDE_SHARED", os.path.join(HERE, "..", "..", "shared"))
ORIGINAL = os.path.join(SHARED, "reference", "original")
# einops as vendored beside the original code; the denoising-sde config's (unconditional) NAFNet.
sys.path[:0] = [os.path.join(ORIGINAL, "vendor"), os.path.join(ORIGINAL, "codes", "config", "denoising-sde")]
from models.modules.DenoisingNAFNet_arch import ConditionalNAFNet  # noqa: E402

cfg = json.loads(sys.argv[1])
size = int(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
reps = int(sys.argv[4]) if len(sys.argv) > 4 else 5
torch.set_num_threads(threads)
torch.manual_seed(0)
model = ConditionalNAFNet(img_channel=cfg.get("imgChannels", 3), width=cfg["width"], middle_blk_num=cfg["middleBlocks"],
                          enc_blk_nums=cfg["encBlocks"], dec_blk_nums=cfg["decBlocks"]).eval()
x = torch.rand(1, cfg.get("imgChannels", 3), size, size)
t = torch.tensor([24.0])
times = []
with torch.no_grad():
    for i in range(reps + 1):
        t0 = time.perf_counter()
        model(x, t)
        if i > 0:
            times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"median_ms": statistics.median(times), "min_ms": min(times), "threads": threads}))
