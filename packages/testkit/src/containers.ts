// When no local server answers, the scratch resources live in throwaway containers. This path is
// untested here: the machines this project is developed and checked on run no Docker engine, so
// the local servers (what CI uses) are the only path that has ever run.

/** Runs a command inside a started container and returns what it printed. */
export type ContainerExec = (command: string[]) => Promise<string>;

let postgres: Promise<string> | undefined;
let rabbitmq: Promise<{ url: string; exec: ContainerExec }> | undefined;

const containerError = (what: string, err: unknown): Error =>
  new Error(
    `${what} is not reachable locally and no container could be started (${err instanceof Error ? err.message : String(err)}); ` +
      'start a local server, point the variable at one, or run a Docker engine',
  );

/** The admin URL of one Postgres container for the whole run, started on first use. */
export const postgresContainer = (): Promise<string> => {
  postgres ??= (async () => {
    try {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const started = await new PostgreSqlContainer('postgres:16-alpine')
        .withUsername('postgres')
        .withPassword('postgres')
        .withDatabase('postgres')
        .start();
      return started.getConnectionUri();
    } catch (err) {
      throw containerError('PostgreSQL', err);
    }
  })();
  return postgres;
};

/** One RabbitMQ container for the whole run, started on first use; `rabbitmqctl` runs inside it. */
export const rabbitmqContainer = (): Promise<{ url: string; exec: ContainerExec }> => {
  rabbitmq ??= (async () => {
    try {
      const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
      const started = await new RabbitMQContainer('rabbitmq:3.13-alpine').start();
      const exec: ContainerExec = async (command) => {
        const result = await started.exec(command);
        if (result.exitCode !== 0)
          throw new Error(`${command.join(' ')} failed (${result.exitCode}): ${result.output}`);
        return result.stdout;
      };
      return { url: started.getAmqpUrl(), exec };
    } catch (err) {
      throw containerError('RabbitMQ', err);
    }
  })();
  return rabbitmq;
};
