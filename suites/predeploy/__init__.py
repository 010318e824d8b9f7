"""The predeploy suite."""
