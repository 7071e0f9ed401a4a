"""Payment providers by name: `checkout.payment_provider` picks one factory from PROVIDERS.

A real provider is an added module (an adapter with the PaymentProvider protocol and a
`create(deps)` factory) plus one line here; nothing else in the checkout changes.
"""
from __future__ import annotations

from typing import Callable

from server.checkout.payments import PaymentProvider, ProviderDeps
from server.checkout.sandbox import SandboxProvider
from server.config import ConfigError

ProviderFactory = Callable[[ProviderDeps], PaymentProvider]

PROVIDERS: dict[str, ProviderFactory] = {
    SandboxProvider.name: SandboxProvider.create,
}


def make_provider(name: str, deps: ProviderDeps) -> PaymentProvider:
    """The provider registered under `name`; a ConfigError names the known ones otherwise."""
    factory = PROVIDERS.get(name)
    if factory is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigError(f"setting checkout.payment_provider: unknown provider {name!r} (known: {known})")
    return factory(deps)
