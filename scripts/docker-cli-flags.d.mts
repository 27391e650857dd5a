// Types of scripts/docker-cli-flags.mjs, for test/unit/cli/docker-flags.test.ts.
/** One flag as `docker VERB --help` lists it. */
export interface DockerFlag {
  long: string;
  short?: string;
  type?: string;
}
/** The flags of a help text's "Options:" section, parsed as scripts/docker-cli-flags.mjs parses docker's. */
export function flagsOf(help: string): DockerFlag[];
