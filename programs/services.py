"""Writes for the programs app: organizations, programs and more (see the import modules
for roster and collections)."""

from __future__ import annotations

from programs.models import PATH_SEPARATOR, Organization


def organization_path_split(path: str) -> list[str]:
    """ "Acme / Engineering/Platform" -> ["Acme", "Engineering", "Platform"]; empty parts dropped."""
    return [part.strip() for part in path.split(PATH_SEPARATOR) if part.strip()]


def organization_ensure(*, path: str, cache: dict[str, Organization] | None = None) -> Organization:
    """The organization at `path` (e.g. "Acme/Engineering/Platform"), creating it and any
    missing ancestors. `cache` (path -> organization) saves queries in bulk imports."""
    parts = organization_path_split(path)
    if not parts:
        raise ValueError("An organization path needs at least one name.")
    cache = {} if cache is None else cache
    org: Organization | None = None
    for depth in range(len(parts)):
        current_path = PATH_SEPARATOR.join(parts[: depth + 1])
        parent, org = org, cache.get(current_path)
        if org is None:
            org, _ = Organization.objects.get_or_create(
                path=current_path, defaults={"name": parts[depth], "parent": parent, "depth": depth}
            )
            cache[current_path] = org
    return org  # type: ignore[return-value]  # parts is not empty
