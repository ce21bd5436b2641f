from simulator.cli.main import run

run()
