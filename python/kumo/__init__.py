"""kumo: the Python client of the kumo server (jobs, datasets, results) and of kumo cache.

    import kumo
    k = kumo.Client()                      # KUMO_SERVER / KUMO_TOKEN, or arguments
    job = k.submit(open("job.yaml").read(), snapshot_dir=".")
    k.watch(job["id"])                     # until it ends
    k.results(job["id"]); k.cp(job["id"], "model.pt", "model.pt"); k.rerun(job["id"])
    k.push_dataset("mnist", "./mnist", project="vision")
    k.pull_dataset("mnist", "/scratch/mnist", version=3)
    ds = k.open_dataset("mnist", version=3)   # a torch IterableDataset, sharded by RANK/WORLD_SIZE

The byte-moving part for datasets is kumo_cache.Client (in this same distribution).
"""

from .api import ApiError, Client, StreamingDataset, manifest_digest

__all__ = ["Client", "ApiError", "StreamingDataset", "manifest_digest"]
