"""What a run needs to span hosts, below training and above the data: JAX's distributed start-up and the
coordination-service collectives (`collectives`: barrier, process 0's decision, agreement), the local
N-process launcher that imitates a pod (`local_launch`), the run's stop flag and multi-host agreements
(`run_control`), and the workdir lease that keeps one trainer per workdir (`workdir_lease`).

Layer 3: may import `util`, `models`, `data`; nothing above.
"""
