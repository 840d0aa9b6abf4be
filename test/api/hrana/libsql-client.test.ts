/** The @libsql/client suite against in-process nodes, on both test services. */
import { describe } from "bun:test";
import { startNode, type TestNode } from "./harness.ts";
import { libsqlClientSuite } from "./libsql-client-suite.ts";
import { SERVICES, type TestService } from "./test-services.ts";

const TX_IDLE_MS = 300;

for (const [name, make] of SERVICES) {
  describe(name, () => {
    let service: TestService;
    let node: TestNode;
    libsqlClientSuite(
      () => {
        service = make();
        node = startNode(service, { txIdleTimeoutMs: TX_IDLE_MS });
        return {
          url: node.url,
          peek: async (sql) => service.query(sql),
          txIdleTimeoutMs: TX_IDLE_MS,
          calls: service.calls,
          openTransactions: () => service.openTransactions,
        };
      },
      () => {
        node.stop();
        service.close();
      },
    );
  });
}
