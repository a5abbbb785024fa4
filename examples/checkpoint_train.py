"""A training job that checkpoints with torch.save and resumes at the right step.

On SIGTERM (kumo's checkpoint signal on preemption) it saves the model, the optimiser and the
step it has reached to KUMO_CHECKPOINT_DIR/ckpt.pt and exits. The next attempt (KUMO_ATTEMPT
is one higher, KUMO_CHECKPOINT_DIR is the same) loads it and continues from that step. Every
step is appended to KUMO_CHECKPOINT_DIR/steps.log as "attempt step", so a test can check that
no step was skipped or repeated across attempts.

Usage: checkpoint_train.py STEPS SECONDS_PER_STEP
"""
import os
import signal
import sys
import time

import torch

STEPS, PAUSE = int(sys.argv[1]), float(sys.argv[2])
ckpt_dir = os.environ["KUMO_CHECKPOINT_DIR"]
attempt = int(os.environ["KUMO_ATTEMPT"])
path = os.path.join(ckpt_dir, "ckpt.pt")

torch.manual_seed(int(os.environ.get("KUMO_SEED", "0")) % (2**31))
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
step = 0
if os.path.exists(path):
    state = torch.load(path)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    step = state["step"]
    print(f"attempt {attempt}: resumed from checkpoint at step {step}", flush=True)
else:
    print(f"attempt {attempt}: starting from step 0", flush=True)


def save():
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, tmp)
    os.replace(tmp, path)  # atomic: a kill during the save leaves the previous checkpoint


stop = False


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
log = open(os.path.join(ckpt_dir, "steps.log"), "a")
while step < STEPS and not stop:
    x = torch.randn(16, 4)
    loss = ((model(x) - x.sum(1, keepdim=True)) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    step += 1
    log.write(f"{attempt} {step}\n")
    log.flush()
    time.sleep(PAUSE)
save()
if stop:
    print(f"attempt {attempt}: preempted at step {step}, checkpoint saved", flush=True)
    sys.exit(0)
print(f"attempt {attempt}: finished {STEPS} steps", flush=True)
with open(os.path.join(os.environ["KUMO_OUTPUT_DIR"], "model.pt"), "wb") as f:
    torch.save(model.state_dict(), f)
