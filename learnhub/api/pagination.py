from typing import Any

from rest_framework import pagination
from rest_framework.request import Request

from learnhub.api.params import PageParameters, parameters_read


class PageNumberPagination(pagination.PageNumberPagination):
    """?page=N&page_size=M: whole numbers from 1 (learnhub.api.params), M defaults to 50 and
    is capped at 500; a page past the last one is a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        size = parameters_read(PageParameters, request)[self.page_size_query_param]
        return self.page_size if size is None else min(size, self.max_page_size)

    def get_page_number(self, request: Request, paginator: Any) -> int:
        number: int = parameters_read(PageParameters, request)[self.page_query_param] or 1
        return number

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {"type": "integer", "minimum": 1}
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page (default {self.page_size}; larger values are capped at {self.max_page_size})."
                )
        return parameters
