/** `quorumlite` — the command line. Each subcommand lives in its own module. */
export {};

const USAGE = `quorumlite — Raft-replicated SQLite with fastest-majority commits

Usage:
  quorumlite serve   --id ID --data DIR --http HOST:PORT --raft HOST:PORT --region R
                     [--bootstrap ID=HOST:PORT[@REGION],…] [--join URL] [--preferred-region R] …
  quorumlite cluster [--nodes 3] [--geo ams,ams,iad] [--base-port 8001] [--data DIR]
  quorumlite bench   [options]            run the benchmark suite (see bench/)
  quorumlite shell   URL                  interactive SQL shell against a node
  quorumlite backup  URL FILE             download a consistent copy of the database
  quorumlite restore URL FILE             load a database file into the cluster

Run \`quorumlite <command> --help\` for a command's options.`;

const [command, ...rest] = process.argv.slice(2);

async function run(): Promise<number> {
  switch (command) {
    case "serve":
      return (await import("./serve-command.ts")).serveCommand(rest);
    case "cluster":
      return (await import("./cluster-command.ts")).clusterCommand(rest);
    case "bench":
      return (await import("../../bench/run.ts")).benchCommand(rest);
    case "shell":
      return (await import("./shell-command.ts")).shellCommand(rest);
    case "backup":
      return (await import("./backup-command.ts")).backupCommand(rest);
    case "restore":
      return (await import("./backup-command.ts")).restoreCommand(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    default:
      console.error(`quorumlite: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

process.exitCode = await run();
