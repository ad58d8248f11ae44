// SPDX-License-Identifier: Apache-2.0
// guide_client.mjs -- the integration guide's TimingOrderClient, copied
// verbatim between the markers below, against a real Timing stack.
//
//   node guide_client.mjs PORT TOKEN
//
// Node has no global WebSocket before 22: the ws package (the guide's
// browser API, in Node) fills it in.  Prints one JSON line of what the
// client received and exits 0, or exits 1 after 20 s.
import WebSocketImpl from 'ws';

globalThis.WebSocket = WebSocketImpl;

// ---- from the integration guide for front-end developers, verbatim ----
class TimingOrderClient {
  constructor(baseUrl = 'ws://localhost:8000', token = null) {
    this.baseUrl = baseUrl;
    this.token = token;
    this.socket = null;
    this.reconnectAttempts = 0;
    this.maxReconnectAttempts = 5;
  }

  connect() {
    const wsUrl = `${this.baseUrl}/admin?token=${this.token}`;
    this.socket = new WebSocket(wsUrl);
    
    this.socket.onopen = () => {
      console.log('Connected to Timing API');
      this.reconnectAttempts = 0;
    };
    
    this.socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      this.handleMessage(data);
    };
    
    this.socket.onclose = () => {
      this.handleReconnect();
    };
    
    this.socket.onerror = (error) => {
      console.error('WebSocket error:', error);
    };
  }

  handleMessage(data) {
    switch (data.type) {
      case 'newOrder':
        this.onNewOrder(data.order);
        break;
      case 'orderStatusUpdate':
        this.onOrderStatusUpdate(data.order, data.status);
        break;
      default:
        console.log('Unknown message type:', data.type);
    }
  }

  onNewOrder(order) {
    // Handle new order notification
    console.log('New order received:', order);
  }

  onOrderStatusUpdate(order, status) {
    // Handle order status update
    console.log('Order status updated:', order.id, status);
  }

  handleReconnect() {
    if (this.reconnectAttempts < this.maxReconnectAttempts) {
      this.reconnectAttempts++;
      setTimeout(() => {
        console.log(`Reconnecting... (${this.reconnectAttempts}/${this.maxReconnectAttempts})`);
        this.connect();
      }, 2000 * this.reconnectAttempts);
    }
  }

  disconnect() {
    if (this.socket) {
      this.socket.close();
    }
  }
}
// ---- end of the guide's code ----

const [port, token] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}`;
const seen = { newOrder: null, update: null };
const client = new TimingOrderClient(`ws://127.0.0.1:${port}`, token);

client.onNewOrder = (order) => { seen.newOrder = order; };
client.onOrderStatusUpdate = (order, status) => {
  seen.update = { id: order.id, status };
};

const until = async (test) => {
  while (!test()) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

setTimeout(() => {
  console.log(JSON.stringify({ timeout: true, seen }));
  process.exit(1);
}, 20000);

client.connect();
await until(() => client.socket && client.socket.readyState === 1);
const created = await (await fetch(`${base}/api/orders`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ customer_info: { name: 'Guide' },
                         items: [{ menu_id: 1, quantity: 1 }] }),
})).json();
const id = created.data.id;
await until(() => seen.newOrder && seen.newOrder.id === id);
const changed = await fetch(`${base}/api/admin/orders/${id}/status`, {
  method: 'PUT',
  headers: { 'Content-Type': 'application/json',
             'Authorization': `Bearer ${token}` },
  body: JSON.stringify({ status: 'preparing' }),
});
await until(() => seen.update && seen.update.id === id);
client.disconnect();
console.log(JSON.stringify({ id, put: changed.status, seen }));
process.exit(0);
