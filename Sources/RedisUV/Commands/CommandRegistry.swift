/// Every implemented command, by Redis full name ("get", "config|get"). One line per
/// command family; each family's file holds its handlers and its table.
enum CommandRegistry {
    static var implementations: [CommandImpl] {
        ConnectionCommands.table
            + ClientCommand.table
            + StringCommands.table
            + HyperLogLogCommands.table
            + BitmapCommands.table
            + ConfigCommand.table
            + CommandCommand.table
            + InfoCommand.table
            + ServerCommands.table
            + DebugCommand.table
            + KeyspaceCommands.table
            + ExpireCommands.table
            + ObjectCommand.table
            + HashCommands.table
            + SetCommands.table
            + SortedSetCommands.table
            + GeoCommands.table
            + SortCommand.table
            + ListCommands.table
            + TransactionCommands.table
            + PubSubCommands.table
            + StreamCommands.table
            + DumpRestoreCommands.table
            + ReplicaCommands.table
            + MasterCommands.table
            + FailoverCommand.table
            + EvalCommands.table
            + FunctionCommands.table
            + ACLCommand.table
            + IntrospectionCommands.table
    }
}
