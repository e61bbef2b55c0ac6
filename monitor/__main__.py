from monitor.shell.cli import main

# Guarded: the worker's scoring and detect processes are started with `spawn`, which imports
# this module again (as __mp_main__) in each child; it must not run the CLI there.
if __name__ == "__main__":
    main()
