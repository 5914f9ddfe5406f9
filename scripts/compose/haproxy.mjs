// Just enough of HAProxy's configuration format for the policy: which frontend binds which port,
// the backend it sends to, and that backend's servers. Sections start at column 0; their lines
// are indented; `#` starts a comment.

const section = (line) => /^(frontend|backend|listen|defaults|global|resolvers)\b\s*(\S*)/.exec(line);

/** The frontends (name, mode, ports bound, default backend) and backends (servers, stickiness). */
export const parseHaproxy = (text) => {
  const frontends = [];
  const backends = {};
  let current;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd();
    if (line.trim() === '') continue;
    const start = section(line);
    if (start) {
      const [, kind, name] = start;
      current = { kind, name, mode: 'tcp', ports: [], backend: undefined, servers: [], cookie: false, balance: '' };
      if (kind === 'frontend' || kind === 'listen') frontends.push(current);
      if (kind === 'backend' || kind === 'listen') backends[name] = current;
      continue;
    }
    if (!current) continue;
    const [keyword, ...words] = line.trim().split(/\s+/);
    if (keyword === 'mode') current.mode = words[0];
    else if (keyword === 'bind') current.ports.push(Number(words[0].split(':').pop()));
    else if (keyword === 'default_backend') current.backend = words[0];
    else if (keyword === 'balance') current.balance = words[0];
    else if (keyword === 'cookie') current.cookie = true;
    else if (keyword === 'server') {
      const [name, address, ...options] = words;
      const [host, port] = address.split(':');
      const cookieAt = options.indexOf('cookie');
      current.servers.push({
        name,
        host,
        port: Number(port),
        cookie: cookieAt >= 0 ? options[cookieAt + 1] : undefined,
      });
    }
  }
  for (const frontend of frontends) if (frontend.kind === 'listen') frontend.backend = frontend.name;
  return { frontends, backends };
};

/** The backend a connection to `port` ends up in, or undefined when no frontend binds it. */
export const backendAt = (config, port) => {
  const frontend = config.frontends.find((f) => f.ports.includes(port));
  return frontend ? { frontend, backend: config.backends[frontend.backend] } : undefined;
};
