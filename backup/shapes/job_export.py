"""``ExportJobsResult``, the answer of a jobs export's operation result, as Azure's JSON spells it."""

from __future__ import annotations

from typing import Annotated

import msgspec


class ExportJobsResult(msgspec.Struct, rename="camel", omit_defaults=True):
    """Where the export is: ``blobUrl`` + ``?`` + ``blobSasKey`` downloads it (JSON), the excel file
    pair the same jobs as a CSV sheet."""

    blob_url: Annotated[str, msgspec.Meta(description="The blob holding the jobs, as a JSON array.")]
    blob_sas_key: Annotated[
        str,
        msgspec.Meta(description="A read-only user-delegation SAS for that blob alone (a query string)."),
    ]
    excel_file_blob_url: Annotated[
        str, msgspec.Meta(description="The same jobs as a CSV sheet that Excel opens (not an .xlsx).")
    ]
    excel_file_blob_sas_key: Annotated[str, msgspec.Meta(description="A read-only SAS for the sheet alone.")]
