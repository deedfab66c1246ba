"""Run records: the sealed ledger of manifests, the content-addressed archive, run ids, carried results, the run lock."""
