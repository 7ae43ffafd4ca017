// A minimal Server-Sent Events reader over fetch, for change-feed tests.
export interface SseEvent {
  readonly id: string;
  readonly data: Record<string, unknown>;
}

export interface SseConnection {
  readonly status: number;
  readonly events: SseEvent[];
  /** Resolves once at least `count` events arrived. */
  readonly waitFor: (count: number, timeoutMs?: number) => Promise<void>;
  readonly close: () => void;
}

export async function openFeed(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  if (response.ok && response.body) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    void (async () => {
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const id = /^id: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (id !== undefined && data !== undefined)
              events.push({ id, data: JSON.parse(data) as Record<string, unknown> });
          }
        }
      } catch {
        // aborted by close()
      }
    })();
  }
  return {
    status: response.status,
    events,
    waitFor: async (count, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (Date.now() > deadline) throw new Error(`got ${String(events.length)} of ${String(count)} events`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => {
      abort.abort();
    },
  };
}
