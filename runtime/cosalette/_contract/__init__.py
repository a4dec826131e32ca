"""What an app declares, as data: snapshots and manifests."""
