"""notify's stores: the ports the application layer uses, and their document-store implementation."""

from services.notify.stores.ports import (
    DeliveryStore,
    DraftStore,
    LinkStore,
    NewLink,
    NotifyStores,
    PagesStore,
)

__all__ = ["DeliveryStore", "DraftStore", "LinkStore", "NewLink", "NotifyStores", "PagesStore"]
