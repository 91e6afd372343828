"""The product's state in Azure Table Storage (``docs/storage.md``).

``keys`` builds PartitionKeys and RowKeys, ``codecs`` maps rows to domain objects and back (pure),
``base`` holds the plumbing every store shares (transactions, ranges, point reads, lost races),
one module per family of rows holds its store, and ``store.VaultStore`` is their union.
"""
