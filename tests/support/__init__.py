"""Test harness code shared by the suites and the benchmarks.

:mod:`.harness` plays the engine against a real ``python -m pulumi.dynamic`` process;
:mod:`.program` runs a Pulumi program under mocks; :mod:`.engine` has the emulator client and
the provider inputs the engine suites and the benchmarks build.
"""
