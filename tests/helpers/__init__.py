"""Test scaffolding shared by every tier and the benchmarks; tests import these, never a conftest."""
