const { createProxyMiddleware } = require('http-proxy-middleware');

// Create React App's src/setupProxy.js, in the shapes its docs and http-proxy-middleware's use.
module.exports = function (app) {
  app.use(
    '/api',
    createProxyMiddleware({
      target: 'http://localhost:5000',
      changeOrigin: true,
    })
  );
  app.use(createProxyMiddleware('/auth', { target: 'http://localhost:5001' }));
  app.use(
    createProxyMiddleware({
      pathFilter: '/socket',
      target: 'http://localhost:5002',
      ws: true,
      on: { proxyReq: (proxyReq) => proxyReq.setHeader('X-From', 'cra') },
    })
  );
};
