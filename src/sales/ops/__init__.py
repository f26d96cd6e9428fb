"""Operations tooling: throwaway PostgreSQL clusters, the restore drill and the invariant checks run after any
restore or crash (docs/operations.md)."""
