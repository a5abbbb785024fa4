"""kumo_cache: Python client (standard library only) for `kumo cache serve`.

    from kumo_cache import Client, KumoDataset
    c = Client(["127.0.0.1:8470"], token_file="/var/run/secrets/tokens/kumo")
    c.put("imagenet", "train/0001.jpg", data)
    ds = KumoDataset(c, "imagenet", keys, transform=decode)
"""

from .client import Client
from .dataset import KumoDataset, torch_dataset_class
from .errors import (
    Forbidden,
    KumoCacheError,
    ObjectNotFound,
    RangeNotSatisfiable,
    TooManyRedirects,
    Unauthorized,
)

__all__ = [
    "Client", "KumoDataset", "CacheDataset", "torch_dataset_class", "KumoCacheError",
    "ObjectNotFound", "Unauthorized", "Forbidden", "RangeNotSatisfiable", "TooManyRedirects",
]


def __getattr__(name):
    if name == "CacheDataset":
        return torch_dataset_class()
    raise AttributeError(name)
