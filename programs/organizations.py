"""Organizations: the company tree (company > organization > team). Each row keeps its
full name path and depth, so a subtree is one indexed prefix query
(`OrganizationQuerySet.subtree`)."""

from __future__ import annotations

from programs.models import PATH_SEPARATOR, Organization
from reports.hooks import progress_changed


def organization_path_split(path: str) -> list[str]:
    """ "Acme / Engineering/Platform" -> ["Acme", "Engineering", "Platform"]; empty parts dropped."""
    return [part.strip() for part in path.split(PATH_SEPARATOR) if part.strip()]


def organization_ensure(*, path: str, cache: dict[str, Organization] | None = None) -> Organization:
    """The organization at `path` (e.g. "Acme/Engineering/Platform"), creating it and any
    missing ancestors. `cache` (path -> organization) saves queries in bulk imports. The
    caller, which writes the people of the organization too, calls
    `reports.hooks.progress_changed` once after its writes."""
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


def organization_create(*, name: str, parent: Organization | None) -> Organization:
    """A new organization named `name` under `parent` (a root when `parent` is None).
    Its path is the parent's path plus the name and its depth one more than the parent's,
    so a subtree stays one prefix query. The name is trimmed and must not be empty or
    contain the path separator."""
    name = name.strip()
    if not name or PATH_SEPARATOR in name:
        raise ValueError(f"An organization name must not be empty or contain {PATH_SEPARATOR!r}.")
    if parent is None:
        organization = Organization.objects.create(name=name, parent=None, path=name, depth=0)
    else:
        organization = Organization.objects.create(
            name=name, parent=parent, path=f"{parent.path}{PATH_SEPARATOR}{name}", depth=parent.depth + 1
        )
    progress_changed()  # the numbers list every organization of the tree
    return organization
