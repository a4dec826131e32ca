"""The file-based AsyncAPI schema tools behind ``python -m cosalette schema ...``.

Each module works on a document as :func:`cosalette._schema.document.load_schema` returns it:
``document`` (load, check, inline ``$ref``\\ s, ``validate``), ``ha_discovery`` (Home Assistant
discovery configs), ``acl`` (broker ACLs), ``openhab`` (``.things``/``.items``), ``check``
(``check`` and ``slice``) and ``yaml_out`` (YAML text). Nothing is re-exported here.
"""
