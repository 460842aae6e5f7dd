"""The deployment engine: saga, steps, releases, processes, health checks.

Entry points: `runner.execute` runs a claimed deployment; `service.deploy_now` queues and runs
one in this process (the CLI without a worker). Import the modules you need directly; this
package imports nothing up front, so reading commands do not pay for it.
"""
