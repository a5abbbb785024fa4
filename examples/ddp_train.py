"""A 2-task gang that really trains together: PyTorch DDP on CPU with the gloo backend.

kumo gives every task RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT; torch.distributed's
env:// rendezvous reads exactly those. Each rank trains on its own shard of a seeded synthetic
regression problem; DDP all-reduces the gradients, so after every step the replicas hold the
same weights. At the end every rank checks that (an all-gather of a weight checksum) and rank 0
writes the result to KUMO_OUTPUT_DIR/ddp.json.
"""
import json
import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP


def main():
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    seed = int(os.environ.get("KUMO_SEED", "0")) % (2**31)
    dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world)
    torch.manual_seed(seed)  # same initial weights on every rank (DDP also broadcasts them)
    model = DDP(torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    true_w = torch.arange(1.0, 9.0).unsqueeze(1)
    gen = torch.Generator().manual_seed(seed + rank)  # each rank its own data shard
    for step in range(200):
        x = torch.randn(32, 8, generator=gen)
        y = x @ true_w
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    checksum = torch.tensor([float(p.detach().sum()) for p in model.parameters()]).sum()
    gathered = [torch.zeros(1) for _ in range(world)]
    dist.all_gather(gathered, checksum.reshape(1))
    in_sync = all(abs(float(g) - float(checksum)) < 1e-4 for g in gathered)
    print(f"rank {rank}/{world}: final loss {loss.item():.6f}, weights in sync: {in_sync}", flush=True)
    if rank == 0:
        with open(os.path.join(os.environ["KUMO_OUTPUT_DIR"], "ddp.json"), "w") as f:
            json.dump({"world_size": world, "final_loss": loss.item(), "in_sync": in_sync,
                       "checksums": [float(g) for g in gathered]}, f)
    # Everyone has what it needs before anyone leaves: torch 1.13's gloo teardown can hang when
    # the rank hosting the TCPStore (rank 0) exits while a peer is still tearing down.
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
    os._exit(0 if in_sync else 1)


if __name__ == "__main__":
    main()
