"""Map-style dataset over objects in a kumo cache bucket, for torch.utils.data.DataLoader.

KumoDataset holds only configuration (server list, token source, bucket, keys, transform); the
Client, and with it the connection pool, is created lazily in whichever process first reads a
sample. A DataLoader worker therefore opens its own connections, whether it was forked (an
inherited client is discarded when the PID changes) or spawned (the dataset is pickled without
a client). torch is not imported here; DataLoader only needs __len__ and __getitem__.
"""

import os

from .client import Client


class KumoDataset:
    def __init__(self, client_or_kwargs, bucket, keys, transform=None):
        if isinstance(client_or_kwargs, Client):
            self.client_config = client_or_kwargs.config()
        elif isinstance(client_or_kwargs, dict):
            self.client_config = dict(client_or_kwargs)
        else:
            raise TypeError("KumoDataset wants a kumo_cache.Client or a dict of Client kwargs")
        self.bucket = bucket
        self.keys = list(keys)
        self.transform = transform
        self._client = None
        self._client_pid = None

    @property
    def client(self):
        pid = os.getpid()
        if self._client is None or self._client_pid != pid:
            self._client = Client(**self.client_config)
            self._client_pid = pid
        return self._client

    def __len__(self):
        return len(self.keys)

    def __getitem__(self, index):
        key = self.keys[index]
        data = self.client.get(self.bucket, key)
        return self.transform(data) if self.transform is not None else data

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_client"] = None
        state["_client_pid"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)


_torch_dataset_class = None


def torch_dataset_class():
    """KumoDataset as a subclass of torch.utils.data.Dataset (imports torch on first call)."""
    global _torch_dataset_class
    if _torch_dataset_class is None:
        import torch.utils.data

        cls = type("CacheDataset", (KumoDataset, torch.utils.data.Dataset), {
            "__module__": __name__,
            "__doc__": "KumoDataset that is also a torch.utils.data.Dataset.",
        })
        _torch_dataset_class = cls
        globals()["CacheDataset"] = cls  # so pickle finds it by name
    return _torch_dataset_class


def __getattr__(name):  # module-level, PEP 562: `from kumo_cache.dataset import CacheDataset`
    if name == "CacheDataset":
        return torch_dataset_class()
    raise AttributeError(name)
