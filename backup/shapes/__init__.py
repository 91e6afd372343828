"""Azure's JSON shapes, declared once as msgspec Structs: they validate request bodies
(:func:`backup.shapes.common.decode`) and generate the OpenAPI schemas
(:mod:`backup.shapes.schemas`). Pure: no Azure SDK; the domain and the services may import it.
One module per resource; each has the converter from its shape to the domain object."""
