SELECT * FROM dashboard_mv;
